"""Plain functions that put work in the register the way the flows would, through the core."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from operative.models import Obligation, ObligationStatus
from operative.playbooks import national_positions as positions
from operative.register import approvals, documents, obligations


def obligation_of(session: Session, playbook: str) -> Obligation:
    found = session.exec(select(Obligation).where(Obligation.playbook == playbook)).one()
    session.refresh(found)
    return found


@dataclass(frozen=True)
class Pending:
    obligation_id: int
    approval_id: int
    title: str


def pending_approval(
    session: Session,
    playbook: str,
    *,
    step: str,
    role: str,
    drafted_by: str,
    title: str,
    body: str,
    kind: str = "draft",
) -> Pending:
    """A draft waiting for ``role``: the obligation started, a document drafted, the approval
    asked and the obligation awaiting it — what a flow's approval gate leaves behind."""
    obligation = obligation_of(session, playbook)
    assert obligation.id is not None
    actor = f"flow:{step}"
    if obligation.status == ObligationStatus.planned:
        obligations.transition(session, obligation, ObligationStatus.in_progress, actor=actor)
    document = documents.draft(
        session,
        obligation_id=obligation.id,
        kind=kind,
        cycle=0,
        version=1,
        title=title,
        body=body,
        drafted_by=drafted_by,
    )
    approval = approvals.request(
        session,
        obligation_id=obligation.id,
        step=step,
        role=role,
        drafted_by=drafted_by,
        document_id=document.id,
    )
    if obligation.status != ObligationStatus.awaiting_approval:
        obligations.transition(session, obligation, ObligationStatus.awaiting_approval, actor=actor)
    session.commit()
    assert approval.id is not None
    return Pending(obligation.id, approval.id, title)


def open_campaign(session: Session) -> int:
    """The national-positions obligation started, every active Member State invited."""
    obligation = obligation_of(session, "national_positions")
    assert obligation.id is not None
    obligations.transition(
        session, obligation, ObligationStatus.in_progress, actor="flow:invite-member-states"
    )
    positions.invite_all(session, obligation.id)
    session.commit()
    return obligation.id
