"""Approvals: who may decide what, four-eyes, and the signed decision a paused flow accepts.

The database row is the decision; the token is how a flow run learns of it. A person decides
through :func:`decide` (from the CLI or the web app), which checks the role and that the
decider did not draft what is decided, records the decision, and returns a token signed with
the secret key. The flow resumes only on a token that verifies, matches the recorded decision
and has not been used before (:func:`accept`) — so a value typed into Prefect's own UI form,
which has no access control, can approve nothing by itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from operative.core import audit, clock, tokens
from operative.errors import Conflict, Forbidden, Invalid, NotFound
from operative.models import Approval, User

DECISION_PURPOSE = "decision"
DECISION_TOKEN_LIFETIME = dt.timedelta(days=7)


class ApprovalError(Forbidden):
    """A decision this person may not take (role, four-eyes), or a decision token refused."""


class AlreadyDecided(Conflict):
    """The approval was decided already."""


class NeedsReason(Invalid):
    """A rejection without a reason."""

    # The form was read, its content refused: the web has always answered 422 here.
    http_status = 422


@dataclass(frozen=True)
class Decided:
    approval: Approval
    token: str


def request(
    session: Session,
    *,
    obligation_id: int,
    step: str,
    role: str,
    drafted_by: str,
    cycle: int = 0,
    attempt: int = 1,
    document_id: int | None = None,
    flow_run_id: str | None = None,
) -> Approval:
    """The approval for (obligation, step, cycle, attempt), created if it is not there yet."""
    existing = session.exec(
        select(Approval).where(
            Approval.obligation_id == obligation_id,
            Approval.step == step,
            Approval.cycle == cycle,
            Approval.attempt == attempt,
        )
    ).first()
    if existing is not None:
        if flow_run_id and existing.decision is None and existing.flow_run_id != flow_run_id:
            existing.flow_run_id = flow_run_id
            session.add(existing)
        return existing
    return audit.write(
        session,
        Approval(
            obligation_id=obligation_id,
            step=step,
            cycle=cycle,
            attempt=attempt,
            role_asked=role,
            drafted_by=drafted_by,
            document_id=document_id,
            flow_run_id=flow_run_id,
            requested_at=clock.now(),
        ),
        actor=drafted_by,
        kind="approval.requested",
        event=lambda approval: (
            f"approval:{approval.id}",
            {
                "obligation": obligation_id,
                "step": step,
                "cycle": cycle,
                "attempt": attempt,
                "role": role,
            },
        ),
    )


def user_roles(session: Session, username: str) -> list[str]:
    """The roles of an active user; :class:`ApprovalError` for an unknown or disabled one."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise ApprovalError(f"unknown user {username!r}")
    return list(user.roles)


def decide(
    session: Session,
    approval_id: int,
    *,
    username: str,
    approve: bool,
    reason: str = "",
) -> Decided:
    """Record a decision after checking role and four-eyes; returns the token for the flow."""
    approval = session.get(Approval, approval_id, with_for_update=True)
    if approval is None:
        raise NotFound(f"no approval {approval_id}")
    if approval.decision is not None:
        raise AlreadyDecided(
            f"approval {approval_id} was already {approval.decision} by {approval.decided_by}"
        )
    reason = " ".join(reason.split())
    if not approve and not reason:
        raise NeedsReason("a rejection needs a reason: say what must change")
    roles = user_roles(session, username)
    if approval.role_asked not in roles:
        raise ApprovalError(
            f"{username} may not decide approval {approval_id}: it needs the role "
            f"{approval.role_asked!r}"
        )
    if approval.drafted_by == username:
        raise ApprovalError(
            f"{username} drafted what approval {approval_id} decides: a second person must decide"
        )
    now = clock.now()
    approval.decision = "approved" if approve else "rejected"
    approval.decided_by = username
    approval.reason = reason or None
    approval.decided_at = now
    approval.token_nonce = secrets.token_urlsafe(12)
    session.add(approval)
    audit.append(
        session,
        actor=username,
        kind=f"approval.{approval.decision}",
        subject=f"approval:{approval_id}",
        payload={"obligation": approval.obligation_id, "step": approval.step, "reason": reason},
    )
    return Decided(approval, decision_token(approval))


def decision_token(approval: Approval) -> str:
    """The signed token that carries a recorded decision to the run waiting for it."""
    if approval.decision is None or approval.token_nonce is None:
        raise ApprovalError(f"approval {approval.id} is not decided")
    return tokens.sign(
        DECISION_PURPOSE,
        {
            "a": approval.id,
            "d": approval.decision,
            "u": approval.decided_by,
            "n": approval.token_nonce,
        },
        expires_at=clock.now() + DECISION_TOKEN_LIFETIME,
    )


def decided_waiting(session: Session, *, since: dt.datetime) -> dict[str, tuple[int, str]]:
    """Runs that may still wait for a decision recorded since ``since``: for each run id, its
    latest decided approval and that decision's token (to resume a run nobody reached)."""
    rows = session.exec(
        select(Approval)
        .where(col(Approval.decision).is_not(None))
        .where(col(Approval.flow_run_id).is_not(None))
        .where(col(Approval.decided_at) >= since)
        .order_by(col(Approval.id))
    ).all()
    return {a.flow_run_id: (a.id or 0, decision_token(a)) for a in rows if a.flow_run_id}


def accept(session: Session, approval_id: int, token: str) -> Approval:
    """The decided approval a token speaks for, spent once; :class:`ApprovalError` otherwise."""
    try:
        claims = tokens.verify(token, DECISION_PURPOSE, at=clock.now())
    except tokens.TokenError as exc:
        raise ApprovalError(f"decision token refused: {exc}") from None
    approval = session.get(Approval, approval_id, with_for_update=True)
    if approval is None or claims.get("a") != approval_id:
        raise ApprovalError("decision token refused: it is for another approval")
    if approval.token_used_at is not None:
        raise ApprovalError("decision token refused: already used")
    if (
        approval.decision != claims.get("d")
        or approval.decided_by != claims.get("u")
        or approval.token_nonce is None
        or approval.token_nonce != claims.get("n")
    ):
        raise ApprovalError("decision token refused: it does not match the recorded decision")
    approval.token_used_at = clock.now()
    session.add(approval)
    return approval


def pending(session: Session) -> list[Approval]:
    """Approvals waiting for a decision, oldest first."""
    return list(
        session.exec(
            select(Approval)
            .where(col(Approval.decision).is_(None))
            .order_by(col(Approval.requested_at), col(Approval.id))
        )
    )


def get(session: Session, approval_id: int) -> Approval:
    """An approval by id; :class:`~operative.errors.NotFound` if there is none."""
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"no approval {approval_id}")
    return approval


def mark_escalated(session: Session, approval_id: int) -> bool:
    """Record that a pending approval was escalated; False if it was already."""
    approval = get(session, approval_id)
    if approval.escalated_at is not None or approval.decision is not None:
        return False
    approval.escalated_at = clock.now()
    session.add(approval)
    audit.append(
        session,
        actor="operative",
        kind="approval.escalated",
        subject=f"approval:{approval_id}",
        payload={"obligation": approval.obligation_id, "role": approval.role_asked},
    )
    return True
