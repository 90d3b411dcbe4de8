"""Tasks that read and write the register: the run lease, steps, status and approvals.

Step results are stored as JSON in the register; a step's result is a frozen pydantic model
(:class:`StepResult`), written with :func:`finish_step` and read back, typed, with
:func:`step_result`, so dates go in and come out as dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from prefect import get_client, task
from prefect.exceptions import ObjectNotFound
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from operative.core import processes
from operative.core.db import session_scope
from operative.errors import NotFound
from operative.models import Approval, Obligation, ObligationStatus
from operative.register import approvals, obligations, runs, steps
from tasks import REGISTER


class StepResult(BaseModel):
    """What a finished step recorded: each step's result is a subclass of this."""

    model_config = ConfigDict(frozen=True)


Result = TypeVar("Result", bound=StepResult)


@dataclass(frozen=True)
class Decision:
    """The decision recorded on an approval (``decision`` None while it is pending)."""

    decision: str | None
    reason: str | None
    decided_by: str | None

    @classmethod
    def of(cls, approval: Approval) -> Decision:
        return cls(
            decision=approval.decision, reason=approval.reason, decided_by=approval.decided_by
        )


@dataclass(frozen=True)
class Requested:
    """An approval asked for a step and attempt, and any decision already on it."""

    id: int
    decision: Decision


@dataclass(frozen=True)
class Refused:
    """A decision token that was not accepted, and why."""

    reason: str


def _obligation(session: Session, obligation_id: int) -> Obligation:
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFound(f"no obligation {obligation_id}")
    return obligation


def holder_state(holder: runs.RunHolder) -> str | None:
    """The state of the run holding a lease while it is active; None once it is not.

    Active: any state that is not final, paused and suspended included, since such a run
    waits for a decision and carries on once it comes. Not active: a final state; a run this
    Prefect server does not know (a local server of an earlier `operative run`) unless its
    process still runs on this host (each `operative run` may start a server of its own);
    an in-process run whose process is gone from this host (SIGKILLed: Prefect still shows
    it running). A deployed run is left to its runner or worker, which mark a lost process
    Crashed; its process changes anyway when it is resumed from suspension.
    """
    try:
        run_uuid = UUID(holder.run_id)
    except ValueError:
        return None if processes.process_gone(holder.process) else "running"
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(run_uuid)
        except ObjectNotFound:
            return "running elsewhere" if processes.process_alive(holder.process) else None
    state = run.state
    if state is None or state.is_final():
        return None
    if run.deployment_id is None and processes.process_gone(holder.process):
        return None
    return str(state.name)


@task(**REGISTER)
def begin(obligation_id: int, playbook: str, flow_run_id: str | None) -> runs.Brief | runs.Stopped:
    """Claim the obligation for this run, put it in progress, and brief the run."""
    return runs.begin(obligation_id, playbook, flow_run_id, holder_state=holder_state)


def release_lease(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook on a final state: free the obligation's lease if this run holds it.

    Not a task: it runs after the run's final state is set. A suspended run is not final and
    keeps its lease; a run killed before its hook is taken over by the next one.
    """
    del flow, state
    obligation_id = flow_run.parameters.get("obligation_id")
    if obligation_id is not None:
        runs.release(int(obligation_id), str(flow_run.id))


@task(**REGISTER)
def step_done(obligation_id: int, step: str, cycle: int = 0) -> bool:
    """Whether a step has run (for this cycle)."""
    with session_scope() as session:
        return steps.find(session, obligation_id, step, cycle) is not None


@task(**REGISTER)
def step_result(obligation_id: int, step: str, kind: type[Result], cycle: int = 0) -> Result | None:
    """The recorded result of a finished step, read as ``kind``; None if it has not run."""
    with session_scope() as session:
        done = steps.find(session, obligation_id, step, cycle)
        return kind.model_validate(done.result) if done else None


@task(**REGISTER)
def finish_step(
    obligation_id: int,
    step: str,
    cycle: int = 0,
    result: StepResult | None = None,
    progress: int | None = None,
) -> None:
    """Record a step as done and move the progress bar."""
    stored = result.model_dump(mode="json") if result is not None else None
    with session_scope() as session:
        steps.record(session, obligation_id, step, cycle, stored)
        if progress is not None:
            obligations.set_progress(session, _obligation(session, obligation_id), progress)


@task(**REGISTER)
def set_status(obligation_id: int, status: ObligationStatus, actor: str, note: str = "") -> str:
    """Move the obligation through its lifecycle (a no-op if it is already there)."""
    with session_scope() as session:
        obligation = _obligation(session, obligation_id)
        if obligation.status != status:
            obligations.transition(session, obligation, status, actor=actor, note=note)
        return str(obligation.status)


@task(**REGISTER)
def request_approval(
    obligation_id: int,
    step: str,
    cycle: int,
    attempt: int,
    role: str,
    drafted_by: str,
    document_id: int | None,
    flow_run_id: str | None,
) -> Requested:
    """The approval row for this step and attempt (created once), and any decision on it."""
    with session_scope() as session:
        approval = approvals.request(
            session,
            obligation_id=obligation_id,
            step=step,
            cycle=cycle,
            attempt=attempt,
            role=role,
            drafted_by=drafted_by,
            document_id=document_id,
            flow_run_id=flow_run_id,
        )
        assert approval.id is not None
        return Requested(
            id=approval.id,
            decision=Decision.of(approval),
        )


@task(**REGISTER)
def accept_decision(approval_id: int, token: str) -> Decision | Refused:
    """Spend a decision token: the decision, or why the token is not valid."""
    with session_scope() as session:
        try:
            return Decision.of(approvals.accept(session, approval_id, token))
        except approvals.ApprovalError as exc:
            return Refused(str(exc))


@task(**REGISTER)
def read_decision(approval_id: int) -> Decision:
    """The decision recorded on an approval (None while it is pending)."""
    with session_scope() as session:
        return Decision.of(approvals.get(session, approval_id))


@task(**REGISTER)
def mark_escalated(approval_id: int) -> bool:
    """Stamp an approval as escalated; False if it already was (escalate once)."""
    with session_scope() as session:
        return approvals.mark_escalated(session, approval_id)
