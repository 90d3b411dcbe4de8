"""Tasks that read and write the register: obligations, steps, approvals, records."""

from __future__ import annotations

from typing import Any

from prefect import task

from operative import approvals, obligations, steps
from operative.db import session_scope
from operative.models import Obligation, ObligationStatus, Paragraph, Resolution
from tasks import REGISTER


def _obligation(session: Any, obligation_id: int) -> Obligation:
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise LookupError(f"no obligation {obligation_id}")
    return obligation


@task(**REGISTER)
def begin(obligation_id: int, playbook: str, flow_run_id: str | None) -> dict[str, Any]:
    """Check the obligation follows this playbook, put it in progress, and describe it."""
    with session_scope() as session:
        obligation = _obligation(session, obligation_id)
        if obligation.playbook != playbook:
            raise ValueError(
                f"obligation {obligation_id} follows {obligation.playbook}, not {playbook}"
            )
        paragraph = session.get(Paragraph, obligation.paragraph_id)
        assert paragraph is not None
        resolution = session.get(Resolution, paragraph.resolution_id)
        assert resolution is not None
        if obligation.status not in {ObligationStatus.done, ObligationStatus.cancelled}:
            obligations.start(session, obligation, actor=f"flow:{playbook}")
            obligation.last_flow_run_id = flow_run_id
            session.add(obligation)
        return {
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
