"""Tasks that read and write the register: obligations, steps, approvals, records."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import get_client, task
from prefect.exceptions import ObjectNotFound

from operative.core import audit
from operative.core.db import session_scope
from operative.models import Obligation, ObligationStatus, Paragraph, Resolution
from operative.register import approvals, obligations, steps
from tasks import REGISTER


def _obligation(session: Any, obligation_id: int) -> Obligation:
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise LookupError(f"no obligation {obligation_id}")
    return obligation


# How often a run retries the lease when others take it over or release it under its feet.
CLAIM_ATTEMPTS = 5
FINISHED = {ObligationStatus.done, ObligationStatus.cancelled}


def _describe(session: Any, obligation: Obligation, stop: str | None) -> dict[str, Any]:
    paragraph = session.get(Paragraph, obligation.paragraph_id)
    assert paragraph is not None
    resolution = session.get(Resolution, paragraph.resolution_id)
    assert resolution is not None
    return {
        "stop": stop,
        "status": str(obligation.status),
        "paragraph": paragraph.num,
        "paragraph_text": paragraph.text,
        "actor_role": obligation.actor_role,
        "due_at": obligation.due_at.isoformat() if obligation.due_at else None,
        "resolution": {
            "id": resolution.id,
            "body": resolution.body,
            "number": resolution.number,
            "title": resolution.title,
            "adopted_on": resolution.adopted_on.isoformat() if resolution.adopted_on else None,
            "key_dates": resolution.key_dates,
            "source_name": resolution.source_name,
        },
    }


def _claim(
    session: Any, obligation_id: int, playbook: str, run_id: str, replacing: str | None
) -> dict[str, Any] | obligations.RunHolder | None:
    """The run's description once it holds the lease, else the holder (None: just freed)."""
    obligation = _obligation(session, obligation_id)
    if obligation.playbook != playbook:
        raise ValueError(
            f"obligation {obligation_id} follows {obligation.playbook}, not {playbook}"
        )
    if obligation.status in FINISHED:
        return _describe(session, obligation, stop=str(obligation.status))
    process = obligations.this_process()
    if not obligations.claim_run(
        session, obligation_id, run_id, process=process, replacing=replacing
    ):
        return obligations.run_holder(session, obligation_id)
    # Read again under the lease: what an earlier holder did is committed by now.
    session.refresh(obligation)
    if replacing is not None:
        audit.append(
            session,
            actor=f"flow:{playbook}",
            kind="obligation.run_taken_over",
            subject=f"obligation:{obligation_id}",
            payload={"from": replacing, "to": run_id},
        )
    if obligation.status in FINISHED:
        obligations.release_run(session, obligation_id, run_id)
        return _describe(session, obligation, stop=str(obligation.status))
    obligations.start(session, obligation, actor=f"flow:{playbook}")
    obligation.last_flow_run_id = run_id
    session.add(obligation)
    return _describe(session, obligation, stop=None)


def holder_state(holder: obligations.RunHolder) -> str | None:
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
        return None if obligations.process_gone(holder.process) else "running"
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(run_uuid)
        except ObjectNotFound:
            return "running elsewhere" if obligations.process_alive(holder.process) else None
    state = run.state
    if state is None or state.is_final():
        return None
    if run.deployment_id is None and obligations.process_gone(holder.process):
        return None
    return str(state.name)


@task(**REGISTER)
def begin(obligation_id: int, playbook: str, flow_run_id: str | None) -> dict[str, Any]:
    """Claim the obligation for this run, put it in progress, and describe it.

    ``stop`` is why the run has nothing to do: the obligation is done or cancelled, or another
    active run holds it (``already running: <run id>``, and this run wrote nothing).
    """
    run_id = flow_run_id or f"process:{obligations.this_process()}"
    replacing: str | None = None
    holder: obligations.RunHolder | None = None
    for _ in range(CLAIM_ATTEMPTS):
        with session_scope() as session:
            found = _claim(session, obligation_id, playbook, run_id, replacing)
        if isinstance(found, dict):
            return found
        if found is None:
            replacing = None
            continue
        holder = found
        # Asked outside the transaction: no database lock is held while Prefect answers.
        state = holder_state(holder)
        if state is not None:
            return {"stop": f"already running: {holder.run_id}", "holder_state": state}
        replacing = holder.run_id
    assert holder is not None
    return {"stop": f"already running: {holder.run_id}", "holder_state": "unknown"}


def release_lease(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook on a final state: free the obligation's lease if this run holds it.

    Not a task: it runs after the run's final state is set. A suspended run is not final and
    keeps its lease; a run killed before its hook is taken over by the next one.
    """
    del flow, state
    obligation_id = flow_run.parameters.get("obligation_id")
    if obligation_id is None:
        return
    with session_scope() as session:
        obligations.release_run(session, int(obligation_id), str(flow_run.id))


@task(**REGISTER)
def step_result(obligation_id: int, step: str, cycle: int = 0) -> dict[str, Any] | None:
    """The recorded result of a finished step, or None if it has not run."""
    with session_scope() as session:
        done = steps.find(session, obligation_id, step, cycle)
        return dict(done.result) if done else None


@task(**REGISTER)
def finish_step(
    obligation_id: int,
    step: str,
    cycle: int = 0,
    result: dict[str, Any] | None = None,
    progress: int | None = None,
) -> dict[str, Any]:
    """Record a step as done and move the progress bar."""
    with session_scope() as session:
        record = steps.record(session, obligation_id, step, cycle, result)
        if progress is not None:
            obligations.set_progress(session, _obligation(session, obligation_id), progress)
        return dict(record.result)


@task(**REGISTER)
def set_status(obligation_id: int, status: str, actor: str, note: str = "") -> str:
    """Move the obligation through its lifecycle (a no-op if it is already there)."""
    with session_scope() as session:
        obligation = _obligation(session, obligation_id)
        if obligation.status != status:
            obligations.transition(
                session, obligation, ObligationStatus(status), actor=actor, note=note
            )
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
) -> dict[str, Any]:
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
        return {
            "id": approval.id,
            "decision": approval.decision,
            "reason": approval.reason,
            "decided_by": approval.decided_by,
            "escalated": approval.escalated_at is not None,
        }


@task(**REGISTER)
def accept_decision(approval_id: int, token: str) -> dict[str, Any]:
    """Spend a decision token: the decision, or ``refused`` with the reason it is not valid."""
    with session_scope() as session:
        try:
            approval = approvals.accept(session, approval_id, token)
        except approvals.ApprovalError as exc:
            return {"refused": str(exc)}
        return {
            "decision": approval.decision,
            "reason": approval.reason,
            "decided_by": approval.decided_by,
        }


@task(**REGISTER)
def read_decision(approval_id: int) -> dict[str, Any]:
    """The decision recorded on an approval (None while it is pending)."""
    with session_scope() as session:
        approval = approvals.get(session, approval_id)
        return {
            "decision": approval.decision,
            "reason": approval.reason,
            "decided_by": approval.decided_by,
        }


@task(**REGISTER)
def mark_escalated(approval_id: int) -> bool:
    """Stamp an approval as escalated; False if it already was (escalate once)."""
    with session_scope() as session:
        return approvals.mark_escalated(session, approval_id)
