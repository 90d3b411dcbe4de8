"""The reminder sweep: every reminder due now, across obligations and national positions,
found with one indexed query and put in the outbox as one batch.

Each (target, stage, recipient) is recorded in ``reminder_sent`` under a unique constraint in
the same transaction as its message, so a stage is never sent twice, however often (or
concurrently) the sweep runs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative import positions
from operative.calendar import WorkingCalendar, load_working_calendar
from operative.models import (
    Obligation,
    ObligationStatus,
    Paragraph,
    ReminderSent,
    Resolution,
    Submission,
    utcnow,
)
from operative.notify.outbox import enqueue
from operative.notify.recipients import ROLES, Recipient, member_state_recipients, role_recipient
from operative.reminders import MAX_OVERDUE, ReminderConfig, Stage, due_stages, load_reminder_config
from operative.settings import get_settings

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
    groups: dict[tuple[int, str, bool], list[Due]] = defaultdict(list)
    for item in fresh:
        groups[(item.obligation_id, item.stage.name, item.to_state)].append(item)
    contexts = _resolution_context(session, {key[0] for key in groups})
    states = (
        {r.iso3: r for r in member_state_recipients(session)} if any(k[2] for k in groups) else {}
    )
    link_days = dt.timedelta(days=get_settings().portal_link_days)
    stamp = now.strftime("%Y%m%dT%H%M")
    messages = 0
    for (obligation_id, stage, to_state), members in groups.items():
        context = dict(contexts.get(obligation_id, {}))
        deadline = members[0].due_at
        recipients: list[Recipient] = []
        if to_state:
            kind = "overdue" if stage.startswith("overdue") else "reminder"
            for item in members:
                base = states.get(item.recipient)
                if base is None:
                    continue
                link = positions.portal_link(
                    obligation_id, item.recipient, expires_at=deadline + link_days
                )
                recipients.append(
                    Recipient(
                        base.ref, base.name, base.language, base.timezone, {"link": link}, base.iso3
                    )
                )
            context.update(
                deadline=deadline,
                days_left=max((deadline - now).days, 0),
                days_overdue=max((now - deadline).days, 1),
            )
        else:
            kind = "briefing"
            recipients = [
                role_recipient(session, role) for role in sorted({m.recipient for m in members})
            ]
            what = "escalation: still not done" if stage == "escalation" else f"reminder ({stage})"
            context.update(
                topic=f"Deadline of paragraph {context.get('paragraph', '?')}: {what}",
                as_of=now,
                items=1,
                summary=(
                    f"Paragraph {context.get('paragraph', '?')} ({members[0].playbook}) is due on "
                    f"{deadline:%d %B %Y}. Stage: {stage}."
                ),
            )
        if not recipients:
            continue
        result = enqueue(
            session,
            key=f"reminder:{obligation_id}:{stage}:{'states' if to_state else 'roles'}:{stamp}",
            kind=kind,
            recipients=recipients,
            context=context,
            obligation_id=obligation_id,
            actor="reminder_sweep",
        )
        messages += 1
        targets = [m.target for m in members]
        session.execute(
            sa.update(table)
            .where(table.c.target.in_(targets), table.c.stage == stage)
            .values(message_id=result.message_id)
        )
    return {"reminders": len(fresh), "messages": messages}
