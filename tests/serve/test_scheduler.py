"""On a real Prefect server, the scheduler plans runs of served deployments and they run.

The deployment here is the real briefing cycle on a schedule of every few seconds instead of
monthly; with resolution 1244 registered, its run starts a briefing run for OP1's obligation.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from operative.core.db import session_scope
from operative.core.settings import REPO_ROOT
from tests.factories import register_1244


@dataclass(frozen=True)
class EverySeconds:
    """An interval schedule, which deploy/prefect.yaml does not offer but the scheduler runs."""

    seconds: int
    active: bool = True

    def describe(self) -> str:
        return f"every {self.seconds} s"

    def prefect_schedule(self):
        from prefect.schedules import Interval

        return Interval(self.seconds)


# Prefect 3.9.1's Runner leaves asyncio socket transports to the API unclosed when its event
# loop ends after runs have executed (seen with 2-4 of them, all to the API's port).
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    "ignore:Exception ignored in. <function _SelectorTransport.__del__"
    ":pytest.PytestUnraisableExceptionWarning",
)
def test_scheduler_creates_a_run_of_a_scheduled_deployment_and_it_runs(
    scheduler_server: str, isolated_env: Path
) -> None:
    """Unattended work depends on the server planning runs and `operative serve` taking them."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows._prefect.serve import DeploymentSpec, Service, load_specs
    from flows.briefing_cycle import briefing_cycle

    with session_scope() as session:
        obligation_id = register_1244(session)["inform_member_states"]
    # Registered, not served: the briefing run the cycle starts stays scheduled, so the test
    # need not wait for a run that asks the DG's office for an approval.
    inform = next(s for s in load_specs() if s.name == "inform-member-states")
    inform_id = inform.flow.to_deployment(name=inform.name).apply()
    cycle = DeploymentSpec(
        name="every-few-seconds",
        entrypoint="flows/briefing_cycle.py:briefing_cycle",
        flow=briefing_cycle,
        schedules=[EverySeconds(3)],  # type: ignore[list-item]
    )
    service = Service([cycle], poll_seconds=0.5)
    started = time.monotonic()
    service.start()
    try:
        with get_client(sync_client=True) as client:
            cycle_id = service.deployment_ids["briefing_cycle/every-few-seconds"]
            done = None
            while done is None and time.monotonic() - started < 150:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[cycle_id]))
                )
                done = next((r for r in runs if r.state and r.state.is_completed()), None)
                time.sleep(0.3)
            assert done is not None, [(r.name, r.state_name) for r in runs]
            # Created by the server's scheduler, not by anyone asking for it.
            assert done.auto_scheduled
            assert done.start_time is not None and done.expected_start_time is not None
            assert done.start_time >= done.expected_start_time - dt.timedelta(seconds=1)
            # The cycle started OP1's briefing run, once, however many cycle runs there were.
            briefings = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[inform_id]))
            )
            assert [r.parameters for r in briefings] == [
                {"obligation_id": obligation_id, "drafted_by": "secretariat"}
            ]
    finally:
        assert service.stop()
    assert service.failure is None
    gc.collect()  # the Runner's leftover transports are collected here, under this test's filter


def test_deploy_registers_every_deployment_on_the_process_pool(
    scheduler_server: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers find the deployments on their pool, with the shipped schedules."""
    from prefect import get_client

    monkeypatch.setenv("PREFECT_API_URL", scheduler_server)
    result = subprocess.run(
        [sys.executable, "-m", "operative", "deploy"],
        capture_output=True,
        text=True,
        cwd=isolated_env.parent,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Registered 8 deployments" in result.stdout
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("operative").type == "process"
        sweep = client.read_deployment_by_name("reminder_sweep/reminder-sweep")
        playbook = client.read_deployment_by_name("forward_to_pga/forward-to-pga")
    assert sweep.work_pool_name == playbook.work_pool_name == "operative"
    assert [(s.schedule.cron, s.schedule.timezone) for s in sweep.schedules] == [
        ("0 * * * *", "Europe/Zurich")
    ]
    assert playbook.schedules == []
    assert playbook.entrypoint == "flows/forward_to_pga.py:forward_to_pga"
    assert sweep.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_ROOT)}}
    ]

    # Serving them now would take them off the pool behind the workers' back: refused.
    serving = subprocess.run(
        [sys.executable, "-m", "operative", "serve", "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert serving.returncode == 1
    assert serving.stderr.count("\n") == 1 and "is on work pool 'operative'" in serving.stderr
