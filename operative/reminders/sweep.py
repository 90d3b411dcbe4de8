"""The reminder sweep: every reminder due now, across obligations and national positions,
found with one indexed query and put in the outbox as one batch.

Each (target, stage, recipient) is recorded in ``reminder_sent`` under a unique constraint in
the same transaction as its message, so a stage is never sent twice, however often (or
concurrently) the sweep runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.core.clock import WorkingCalendar, load_working_calendar
from operative.core.settings import get_settings
from operative.models import (
    Approval,
    Obligation,
    ObligationStatus,
    Paragraph,
    ReminderSent,
    Resolution,
    Submission,
    utcnow,
)
from operative.notify.channels import load_channels
from operative.notify.outbox import enqueue
from operative.notify.recipients import ROLES, Recipient, member_state_recipients, role_recipient
from operative.playbooks import national_positions as positions
from operative.register.approvals import mark_escalated
from operative.reminders.policy import (
    MAX_OVERDUE,
    ReminderConfig,
    Stage,
    due_stages,
    load_reminder_config,
)

OPEN = (ObligationStatus.planned, ObligationStatus.in_progress, ObligationStatus.awaiting_approval)
# Obligations whose reminders go to others than their owner (the states, for positions).
STATE_PLAYBOOKS = ("national_positions",)


@dataclass(frozen=True)
class Due:
    """One reminder to send now."""

    target: str
    obligation_id: int
    playbook: str
    due_at: dt.datetime
    stage: Stage
    recipient: str  # an ISO3 code, or a role
    to_state: bool


def _window(now: dt.datetime, config: ReminderConfig) -> tuple[dt.datetime, dt.datetime]:
    policies = [config.defaults, *config.playbooks.values()]
    ahead = max(max(p.before, default=0) for p in policies)
    behind = max(p.overdue_every for p in policies) * (MAX_OVERDUE + 1)
    # Working days to calendar days, with room for holidays.
    return now - dt.timedelta(days=behind * 7 // 5 + 14), now + dt.timedelta(
        days=ahead * 7 // 5 + 14
    )


def candidates_query(now: dt.datetime, config: ReminderConfig) -> Any:
    """Open deadlines near enough to need a reminder: obligations and unanswered submissions.

    Both halves are bounded by the indexed ``obligation.due_at``.
    """
    start, end = _window(now, config)
    near = sa.and_(
        col(Obligation.due_at) >= start,
        col(Obligation.due_at) <= end,
        col(Obligation.status).in_([s.value for s in OPEN]),
    )
    owners: Any = sa.select(
        sa.literal("obligation").label("kind"),
        col(Obligation.id).label("row_id"),
        col(Obligation.id).label("obligation_id"),
        col(Obligation.playbook).label("playbook"),
        col(Obligation.due_at).label("due_at"),
        col(Obligation.actor_role).label("who"),
    ).where(
        near,
        col(Obligation.kind) != "declaratory",
        col(Obligation.playbook).notin_(STATE_PLAYBOOKS),
    )
    states: Any = (
        sa.select(
            sa.literal("submission").label("kind"),
            col(Submission.id).label("row_id"),
            col(Obligation.id).label("obligation_id"),
            col(Obligation.playbook).label("playbook"),
            col(Obligation.due_at).label("due_at"),
            col(Submission.member_state_iso3).label("who"),
        )
        .join(Obligation, col(Submission.obligation_id) == col(Obligation.id))
        .where(near, col(Submission.invited_at).is_not(None), col(Submission.received_at).is_(None))
    )
    return sa.union_all(owners, states)


def find_due(
    session: Session,
    now: dt.datetime,
    *,
    calendar: WorkingCalendar | None = None,
    config: ReminderConfig | None = None,
) -> list[Due]:
    """Every reminder stage due at ``now``."""
    calendar = calendar or load_working_calendar()
    config = config or load_reminder_config()
    rows = session.execute(candidates_query(now, config)).all()
    if not rows:
        return []
    targets = [f"{row.kind}:{row.row_id}" for row in rows]
    sent: dict[str, set[str]] = defaultdict(set)
    for chunk_start in range(0, len(targets), 900):
        chunk = targets[chunk_start : chunk_start + 900]
        for target, stage_name in session.exec(
            select(ReminderSent.target, ReminderSent.stage).where(
                col(ReminderSent.target).in_(chunk)
            )
        ):
            sent[target].add(stage_name)
    found: list[Due] = []
    for row, target in zip(rows, targets, strict=True):
        to_state = row.kind == "submission"
        role = row.who if row.who in ROLES else "secretariat"
        tz = "Europe/Zurich" if to_state else ROLES[role].timezone
        due_at = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=dt.UTC)
        policy = config.policy(row.playbook)
        for stage in due_stages(
            due_at, now, sent[target], policy, calendar=calendar, config=config, recipient_tz=tz
        ):
            recipient = policy.supervisor if stage.escalation else (row.who if to_state else role)
            found.append(
                Due(
                    target,
                    row.obligation_id,
                    row.playbook,
                    due_at,
                    stage,
                    recipient,
                    to_state and not stage.escalation,
                )
            )
    return found


def _digest_line(item: Due, context: dict[str, Any]) -> str:
    number = context.get("resolution", {}).get("number", "?")
    what = "escalated: still not done" if item.stage.escalation else item.stage.name
    return (
        f"- Resolution {number}, paragraph {context.get('paragraph', '?')} ({item.playbook}): "
        f"due {item.due_at:%d %B %Y}; {what}"
    )


def _link(session: Session, table: Any, members: list[Due], message_id: int) -> None:
    for stage in {m.stage.name for m in members}:
        targets = [m.target for m in members if m.stage.name == stage]
        session.execute(
            sa.update(table)
            .where(table.c.target.in_(targets), table.c.stage == stage)
            .values(message_id=message_id)
        )


def _resolution_context(session: Session, obligation_ids: set[int]) -> dict[int, dict[str, Any]]:
    rows = session.exec(
        select(Obligation.id, Paragraph.num, Resolution.number, Resolution.title)
        .join(Paragraph, col(Obligation.paragraph_id) == col(Paragraph.id))
        .join(Resolution, col(Paragraph.resolution_id) == col(Resolution.id))
        .where(col(Obligation.id).in_(obligation_ids))
    ).all()
    return {
        oid or 0: {"resolution": {"number": number, "title": title}, "paragraph": num}
        for oid, num, number, title in rows
    }


def enqueue_due(session: Session, items: list[Due], *, now: dt.datetime) -> dict[str, int]:
    """Record and enqueue the reminders, one message per (obligation, stage, kind of recipient)."""
    if not items:
        return {"reminders": 0, "messages": 0}
    table = ReminderSent.__table__  # type: ignore[attr-defined]
    rows = [
        {"target": i.target, "stage": i.stage.name, "recipient": i.recipient, "sent_at": utcnow()}
        for i in items
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(table).values(rows).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(rows).on_conflict_do_nothing()
    inserted = {
        (r.target, r.stage, r.recipient)
        for r in session.execute(
            statement.returning(table.c.target, table.c.stage, table.c.recipient)
        )
    }
    fresh = [i for i in items if (i.target, i.stage.name, i.recipient) in inserted]
    channels = load_channels()
    stamp = now.strftime("%Y%m%dT%H%M")
    messages = 0

    def key_of(prefix: str, members: list[Due]) -> str:
        # Two sweeps in one minute may send different targets: name the batch by its content.
        digest = hashlib.sha256("|".join(sorted(m.target for m in members)).encode()).hexdigest()
        return f"{prefix}:{stamp}:{digest[:16]}"

    # Member States: one message per (obligation, stage), each state with its own link.
    campaigns: dict[tuple[int, str], list[Due]] = defaultdict(list)
    digests: dict[str, list[Due]] = defaultdict(list)
    for item in fresh:
        if item.to_state:
            campaigns[(item.obligation_id, item.stage.name)].append(item)
        else:
            digests[item.recipient].append(item)
    contexts = _resolution_context(session, {i.obligation_id for i in fresh})
    states = {r.iso3: r for r in member_state_recipients(session)} if campaigns else {}
    link_days = dt.timedelta(days=get_settings().portal_link_days)
    for (obligation_id, stage), members in campaigns.items():
        deadline = members[0].due_at
        recipients = [
            Recipient(
                base.ref,
                base.name,
                base.language,
                base.timezone,
                {
                    "link": positions.portal_link(
                        obligation_id, item.recipient, expires_at=deadline + link_days
                    )
                },
                base.iso3,
            )
            for item in members
            if (base := states.get(item.recipient)) is not None
        ]
        if not recipients:
            continue
        result = enqueue(
            session,
            key=key_of(f"reminder:{obligation_id}:{stage}", members),
            kind="overdue" if stage.startswith("overdue") else "reminder",
            recipients=recipients,
            context={
                **contexts.get(obligation_id, {}),
                "deadline": deadline,
                "days_left": max((deadline - now).days, 0),
                "days_overdue": max((now - deadline).days, 1),
            },
            obligation_id=obligation_id,
            channels=channels,
            actor="reminder_sweep",
        )
        messages += 1
        _link(session, table, members, result.message_id)

    # Internal roles: one digest per role and sweep, not one notice per deadline.
    for role, members in digests.items():
        lines = [
            _digest_line(m, contexts.get(m.obligation_id, {}))
            for m in sorted(members, key=lambda m: (m.due_at, m.target))
        ]
        first = contexts.get(members[0].obligation_id, {})
        result = enqueue(
            session,
            key=key_of(f"reminder-digest:{role}", members),
            kind="briefing",
            recipients=[role_recipient(session, role)],
            context={
                **first,
                "topic": f"{len(members)} deadline reminder(s)",
                "as_of": now,
                "items": len(members),
                "summary": "\n".join(lines),
            },
            channels=channels,
            actor="reminder_sweep",
        )
        messages += 1
        _link(session, table, members, result.message_id)
    return {"reminders": len(fresh), "messages": messages}


def escalate_stale_approvals(session: Session, *, now: dt.datetime) -> int:
    """Escalate, once, every approval left undecided longer than the approval timeout.

    A run waiting in its own process escalates when its timer fires; a deployed run waits
    suspended, with no process at all, so the sweep does it for every approval alike. The
    notice goes to the role asked and the secretariat; the approval stays open.
    """
    cutoff = now - dt.timedelta(seconds=get_settings().approval_timeout_seconds)
    stale = session.exec(
        select(Approval)
        .where(col(Approval.decision).is_(None))
        .where(col(Approval.escalated_at).is_(None))
        .where(col(Approval.requested_at) <= cutoff)
        .order_by(col(Approval.id))
    ).all()
    if not stale:
        return 0
    contexts = _resolution_context(session, {a.obligation_id for a in stale})
    channels = load_channels()
    escalated = 0
    for approval in stale:
        assert approval.id is not None
        if not mark_escalated(session, approval.id):
            continue
        obligation = session.get(Obligation, approval.obligation_id)
        enqueue(
            session,
            key=f"approval:{approval.id}:escalation",
            kind="approval_request",
            recipients=[
                role_recipient(session, role)
                for role in dict.fromkeys([approval.role_asked, "secretariat"])
                if role in ROLES
            ],
            context={
                **contexts.get(approval.obligation_id, {}),
                "due": obligation.due_at if obligation else None,
                "step": approval.step,
                "requested_by": approval.drafted_by or "the secretariat",
                "link": f"operative approvals --show {approval.id}",
            },
            obligation_id=approval.obligation_id,
            channels=channels,
            actor="reminder_sweep",
        )
        escalated += 1
    return escalated
