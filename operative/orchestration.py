"""The seam between the core and the orchestrator that runs its playbooks (Prefect today).

The core never imports Prefect, ``flows`` or ``tasks``: what the CLI and the web need from an
orchestrator is :class:`Orchestrator`, and :func:`orchestrator` loads the implementation an
installed package declares under the entry-point group ``operative.orchestrators`` (this
project's ``pyproject.toml`` names ``prefect``: ``flows._prefect.orchestrator``). It is loaded
when a command first needs it, so ``operative --help`` and the web app's pages load none of it.

:func:`decide_and_resume` is the one path from a person's decision to the run waiting for it:
``operative approve``, the approvals page and the API all call it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from sqlmodel import Session

from operative.errors import Unavailable
from operative.models import Approval
from operative.register import approvals

ENTRY_POINT_GROUP = "operative.orchestrators"
DEFAULT_ORCHESTRATOR = "prefect"

# Hands a recorded decision to the run waiting for it: (data dir, run id, approval id, token)
# -> what happened, in words. The web app takes another one in tests (no Prefect server).
Deliverer = Callable[[Path, str | None, int, str], str]


@dataclass(frozen=True)
class Deployment:
    """A deployment as people read it: its full name, its schedules, its work pool."""

    name: str
    when: str
    work_pool: str | None


@dataclass(frozen=True)
class Deployed:
    """What ``operative deploy`` registered, and where."""

    api_url: str
    created_pools: list[str]
    deployments: list[Deployment]


@dataclass(frozen=True)
class Finding:
    """One thing ``operative serve --check`` looked at, and whether it is healthy."""

    ok: bool
    text: str


class Serving(Protocol):
    """The deployments of a file, served on a schedule (``operative serve``)."""

    @property
    def deployments(self) -> Sequence[Deployment]: ...

    @property
    def where(self) -> str:
        """Which API serves them, in words (a local server in the data dir, or the configured)."""
        ...

    def api(self) -> AbstractContextManager[str]:
        """The orchestrator's API for the duration of the block; yields its URL."""
        ...

    def start(self, *, take_runs: bool) -> None:
        """Register the deployments and start taking their runs (``take_runs``)."""
        ...

    def failure(self) -> str | None:
        """Why the runner stopped on its own, once it has."""
        ...

    def check(self, api_url: str) -> list[Finding]:
        """Check the started service: the file, the database, the API, what it holds."""
        ...

    def stop(self) -> bool:
        """Stop taking runs; False when the runner did not stop in time."""
        ...


class Orchestrator(Protocol):
    """What the core needs from the orchestrator that runs its playbooks."""

    def prepare(self, *, log_runs: bool) -> None:
        """Settings every run started from here inherits; called before anything else."""
        ...

    def run_playbook(
        self, playbook: str, obligation_ids: Sequence[int], *, drafted_by: str, data_dir: Path
    ) -> Iterator[tuple[int, str]]:
        """Run a playbook for each obligation in turn; yields each one's outcome."""
        ...

    def deliver_decision(
        self, data_dir: Path, run_id: str | None, approval_id: int, token: str
    ) -> str:
        """Hand a recorded decision to the run waiting for it; says what happened."""
        ...

    def serving(self, prefect_file: Path | None, data_dir: Path) -> Serving:
        """The deployments of ``prefect_file``, read and checked, not yet served."""
        ...

    def deploy(self, prefect_file: Path | None, data_dir: Path) -> Deployed:
        """Register every deployment on its work pool, for workers."""
        ...

    def demo(
        self, data_dir: Path | None, *, echo: Callable[[str], None], show_table: bool
    ) -> dict[str, Any]:
        """Replay resolution 1244 end to end; the summary it printed."""
        ...


@functools.cache
def orchestrator(name: str = DEFAULT_ORCHESTRATOR) -> Orchestrator:
    """The installed orchestrator called ``name`` (loaded once per process)."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise Unavailable(
            f"no orchestrator {name!r} is installed (entry point group {ENTRY_POINT_GROUP}): "
            "install operative with `pip install -e .`"
        )
    factory = next(iter(found)).load()
    made: Orchestrator = factory()
    return made


def deliver_decision(data_dir: Path, run_id: str | None, approval_id: int, token: str) -> str:
    """The installed orchestrator's :meth:`Orchestrator.deliver_decision` (the default)."""
    return orchestrator().deliver_decision(data_dir, run_id, approval_id, token)


@dataclass(frozen=True)
class Resumed:
    """A decision recorded and committed, and what became of the run waiting for it."""

    approval: Approval
    outcome: str


def decide_and_resume(
    session: Session,
    approval_id: int,
    *,
    username: str,
    approve: bool,
    reason: str,
    data_dir: Path,
    deliver: Deliverer = deliver_decision,
) -> Resumed:
    """Record a decision (:func:`operative.register.approvals.decide`: role, four-eyes, a
    reason to reject), commit it, then hand it to the run waiting for it.

    The commit comes first: a run that is not reached loses nothing, it reads the decision
    from the register when it runs again.
    """
    decided = approvals.decide(
        session, approval_id, username=username, approve=approve, reason=reason
    )
    session.commit()
    outcome = deliver(data_dir, decided.approval.flow_run_id, approval_id, decided.token)
    return Resumed(decided.approval, outcome)
