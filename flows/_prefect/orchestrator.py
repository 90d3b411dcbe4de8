"""Prefect as operative's orchestrator: :class:`operative.orchestration.Orchestrator`, for real.

Declared in ``pyproject.toml`` as the entry point ``prefect`` of the group
``operative.orchestrators``; :func:`operative.orchestration.orchestrator` loads it. Nothing
here imports Prefect at module level: :meth:`PrefectOrchestrator.prepare` must set the
environment Prefect reads at import before anything imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows._prefect import runtime
from operative.orchestration import Deployed, Finding, Orchestrator

# For the local server `operative serve` starts. New and changed deployments get their runs
# planned within a second instead of five; the scheduler's round over every deployment (to plan
# further ahead) every 10 s instead of 60, which costs a local SQLite server nothing.
LOCAL_SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "10",
}


class PrefectServing:
    """The deployments of a file, served by a Prefect Runner in this process."""

    def __init__(self, prefect_file: Path | None, data_dir: Path) -> None:
        from flows._prefect.deploy import deployment_of
        from flows._prefect.serve import Service, load_specs

        self._specs = load_specs(prefect_file)
        self._source = prefect_file
        self._data_dir = data_dir
        self._service = Service(self._specs)
        # Read before the API is up: a local server sets PREFECT_API_URL for its lifetime.
        local = not os.environ.get("PREFECT_API_URL")
        self.where = f"local server, data in {data_dir / 'prefect'}" if local else "PREFECT_API_URL"
        self.deployments = [deployment_of(spec) for spec in self._specs]

    def api(self) -> AbstractContextManager[str]:
        return runtime.prefect_api(self._data_dir)

    def start(self, *, take_runs: bool) -> None:
        self._service.start(take_runs=take_runs)

    def failure(self) -> str | None:
        failure = self._service.failure
        return None if failure is None else str(failure)

    def check(self, api_url: str) -> list[Finding]:
        from flows._prefect.serve import check_service, display_path

        source = display_path(self._source) if self._source else None
        found = check_service(self._specs, api_url, self.where, source)
        return [Finding(finding.ok, finding.text) for finding in found]

    def stop(self) -> bool:
        return self._service.stop()


class PrefectOrchestrator:
    """Runs, resumes, serves and deploys the playbooks' flows on a Prefect server."""

    def prepare(self, *, log_runs: bool) -> None:
        # A service keeps Prefect's INFO logs: what each run did reaches its page in the
        # Prefect UI, and the runner's account of each run reaches the journal.
        if log_runs:
            os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
        for name, value in {**runtime.QUIET_SETTINGS, **LOCAL_SERVER_SETTINGS}.items():
            os.environ.setdefault(name, value)

    def run_playbook(
        self, playbook: str, obligation_ids: Sequence[int], *, drafted_by: str, data_dir: Path
    ) -> Iterator[tuple[int, str]]:
        with runtime.prefect_api(data_dir):
            from flows import load_flow

            flow = load_flow(playbook)
            with runtime.flow_settings():
                for obligation_id in obligation_ids:
                    yield obligation_id, str(flow(obligation_id, drafted_by=drafted_by))

    def deliver_decision(
        self, data_dir: Path, run_id: str | None, approval_id: int, token: str
    ) -> str:
        return runtime.deliver_decision(data_dir, run_id, approval_id, token)

    def serving(self, prefect_file: Path | None, data_dir: Path) -> PrefectServing:
        return PrefectServing(prefect_file, data_dir)

    def deploy(self, prefect_file: Path | None, data_dir: Path) -> Deployed:
        from flows._prefect.deploy import deploy

        return deploy(prefect_file, data_dir)

    def demo(
        self, data_dir: Path | None, *, echo: Callable[[str], None], show_table: bool
    ) -> dict[str, Any]:
        from flows._prefect.demo import run_demo

        return run_demo(data_dir, echo=echo, show_table=show_table)


if TYPE_CHECKING:
    # mypy proves here that the class keeps the protocol the core is written against.
    _CHECKED: Orchestrator = PrefectOrchestrator()
