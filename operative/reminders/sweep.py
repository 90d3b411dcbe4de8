"""The reminder sweep: every reminder due now, across obligations and national positions,
found with one indexed query and put in the outbox as one batch.

Each (target, stage, recipient) is recorded in ``reminder_sent`` under a unique constraint in
the same transaction as its message, so a stage is never sent twice, however often (or
concurrently) the sweep runs. A playbook run reminds through the same :func:`remind`, for its
own obligation, so a run and the sweep share that record and never both send a stage.

Owners are reminded of every open obligation but a declaratory one (it asks nobody to act, and
is due on adoption, so it would be overdue, and escalated, from its first day), and of a
national-positions campaign the Member States that have not answered are, not its owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.core.clock import GENEVA, WorkingCalendar, load_working_calendar
from operative.core.db import insert_ignoring_duplicates
from operative.core.settings import get_settings
from operative.i18n import local_time
from operative.models import (
    OPEN,
    Approval,
    Obligation,
    Paragraph,
    ReminderSent,
    Resolution,
    Submission,
    UTCDateTime,
)
from operative.notify.channels import load_channels
from operative.notify.outbox import enqueue
from operative.notify.recipients import ROLES, Recipient, member_state_recipients, role_recipient
from operative.playbooks import Playbook
from operative.playbooks import national_positions as positions
from operative.playbooks import track_obligation as rules
from operative.register.approvals import mark_escalated
from operative.reminders.policy import (
    MAX_OVERDUE,
    ReminderConfig,
    Stage,
    due_stages,
    load_reminder_config,
)

# Obligations whose reminders go to others than their owner (the states, for positions).
STATE_PLAYBOOKS = (Playbook.national_positions,)


@dataclass(frozen=True)
class Due:
    """One reminder to send now."""

    kind: str  # "obligation" (to its owner) or "submission" (to the state invited)
    row_id: int
    obligation_id: int
    playbook: str
    due_at: dt.datetime
    stage: Stage
    recipient: str  # an ISO3 code, or a role
    to_state: bool

    @property
    def target(self) -> str:
        """What ``reminder_sent`` records the stage against."""
        return f"{self.kind}:{self.row_id}"


@dataclass(frozen=True)
class Reminded:
    """What one round of reminders did: stages found due, reminders recorded, messages."""

    due: int
    reminders: int
    messages: int
    stages: tuple[str, ...]


def _window(now: dt.datetime, config: ReminderConfig) -> tuple[dt.datetime, dt.datetime]:
    policies = [config.defaults, *config.playbooks.values()]
    ahead = max(max(p.before, default=0) for p in policies)
    behind = max(p.overdue_every for p in policies) * (MAX_OVERDUE + 1)
    # Working days to calendar days, with room for holidays.
    return now - dt.timedelta(days=behind * 7 // 5 + 14), now + dt.timedelta(
        days=ahead * 7 // 5 + 14
    )


def _columns(kind: str, row_id: Any, who: Any, asked_at: Any) -> Any:
    """One half of the candidates: what is reminded, of which deadline, whom, since when."""
    return sa.select(
        sa.literal(kind).label("kind"),
        row_id.label("row_id"),
        col(Obligation.id).label("obligation_id"),
        col(Obligation.playbook).label("playbook"),
        col(Obligation.due_at).label("due_at"),
        who.label("who"),
        asked_at.label("asked_at"),
    )


def candidates_query(
    now: dt.datetime, config: ReminderConfig, *, obligation_id: int | None = None
) -> Any:
    """Open deadlines near enough to need a reminder: obligations and unanswered submissions
    (of one obligation, when ``obligation_id`` is given).

    Both halves are bounded by the indexed ``obligation.due_at``.
    """
    start, end = _window(now, config)
    near = sa.and_(
        col(Obligation.due_at) >= start,
        col(Obligation.due_at) <= end,
        col(Obligation.status).in_([s.value for s in OPEN]),
        sa.true() if obligation_id is None else col(Obligation.id) == obligation_id,
    )
    # An owner is asked when the obligation is registered: every stage applies.
    always = sa.cast(sa.null(), UTCDateTime())
    owners = _columns("obligation", col(Obligation.id), col(Obligation.actor_role), always).where(
        near,
        col(Obligation.kind) != "declaratory",
        col(Obligation.playbook).notin_(STATE_PLAYBOOKS),
    )
    states = (
        _columns(
            "submission",
            col(Submission.id),
            col(Submission.member_state_iso3),
            col(Submission.invited_at),
        )
        .join(Obligation, col(Submission.obligation_id) == col(Obligation.id))
        .where(near, col(Submission.invited_at).is_not(None), col(Submission.received_at).is_(None))
    )
    return sa.union_all(owners, states)


def _sent_stages(session: Session, targets: list[str]) -> dict[str, set[str]]:
    """The stages already recorded for each target (in chunks: SQLite bounds the parameters)."""
    sent: dict[str, set[str]] = defaultdict(set)
    for chunk_start in range(0, len(targets), 900):
        chunk = targets[chunk_start : chunk_start + 900]
        for target, stage_name in session.exec(
            select(ReminderSent.target, ReminderSent.stage).where(
                col(ReminderSent.target).in_(chunk)
            )
        ):
            sent[target].add(stage_name)
    return sent


def _due_for(
    row: Any,
    sent: set[str],
    now: dt.datetime,
    calendar: WorkingCalendar,
    config: ReminderConfig,
) -> list[Due]:
    """The stages due now for one candidate, each addressed to its recipient."""
    to_state = row.kind == "submission"
    owner = rules.owner(row.who)
    due_at: dt.datetime = row.due_at
    policy = config.policy(row.playbook)
    stages = due_stages(
        due_at,
        now,
        sent,
        policy,
        calendar=calendar,
        config=config,
        recipient_tz=GENEVA if to_state else ROLES[owner].timezone,
        asked_at=row.asked_at,
    )
    return [
        Due(
            kind=row.kind,
            row_id=row.row_id,
            obligation_id=row.obligation_id,
            playbook=row.playbook,
            due_at=due_at,
            stage=stage,
            recipient=policy.supervisor if stage.escalation else (row.who if to_state else owner),
            to_state=to_state and not stage.escalation,
        )
        for stage in stages
    ]


def find_due(
    session: Session,
    now: dt.datetime,
    *,
    calendar: WorkingCalendar | None = None,
    config: ReminderConfig | None = None,
    obligation_id: int | None = None,
) -> list[Due]:
    """Every reminder stage due at ``now`` (of one obligation, when ``obligation_id`` is given)."""
    calendar = calendar or load_working_calendar()
    config = config or load_reminder_config()
    rows = session.execute(candidates_query(now, config, obligation_id=obligation_id)).all()
    sent = _sent_stages(session, [f"{row.kind}:{row.row_id}" for row in rows])
    return [
        item
        for row in rows
        for item in _due_for(row, sent[f"{row.kind}:{row.row_id}"], now, calendar, config)
    ]


def remind(session: Session, now: dt.datetime, *, obligation_id: int | None = None) -> Reminded:
    """Find and enqueue every reminder due at ``now``: what the hourly sweep does for all
    obligations and a playbook run for its own. Both record each stage in ``reminder_sent``,
    so whichever comes first sends it and the other finds it sent."""
    due = find_due(session, now, obligation_id=obligation_id)
    counts = enqueue_due(session, due, now=now)
    return Reminded(
        due=len(due),
        reminders=counts["reminders"],
        messages=counts["messages"],
        stages=tuple(sorted({item.stage.name for item in due})),
    )


def _stage_words(stage: Stage) -> str:
    """A stage as its reader says it ("10 working days left"), not as the policy names it."""
    kind, _, count = stage.name.partition("-")
    if stage.escalation:
        return "escalated: still not done"
    if kind == "before":
        return f"{count} working day{'' if count == '1' else 's'} left"
    return f"overdue (reminder {count})"


def _digest_line(item: Due, context: dict[str, Any]) -> str:
    number = context.get("resolution", {}).get("number", "?")
    due = local_time(item.due_at, "D MMMM YYYY, HH:mm", zone=GENEVA)
    return (
        f"- Resolution {number}, paragraph {context.get('paragraph', '?')} ({item.playbook}): "
        f"due {due}, Geneva time; {_stage_words(item.stage)}"
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


def _record(session: Session, items: list[Due], *, now: dt.datetime) -> list[Due]:
    """Record each (target, stage, recipient) once; the items this call recorded first."""
    if not items:
        return []
    table = ReminderSent.__table__  # type: ignore[attr-defined]
    rows = [
        {"target": i.target, "stage": i.stage.name, "recipient": i.recipient, "sent_at": now}
        for i in items
    ]
    statement = insert_ignoring_duplicates(session, table, rows)
    inserted = {
        (r.target, r.stage, r.recipient)
        for r in session.execute(
            statement.returning(table.c.target, table.c.stage, table.c.recipient)
        )
    }
    return [i for i in items if (i.target, i.stage.name, i.recipient) in inserted]


@dataclass(frozen=True)
class _Batch:
    """What every message of one round shares: its session, time, channels and contexts."""

    session: Session
    now: dt.datetime
    channels: Any
    contexts: dict[int, dict[str, Any]]

    def key(self, prefix: str, members: list[Due]) -> str:
        # Two rounds in one minute may send different targets: name the batch by its content.
        digest = hashlib.sha256("|".join(sorted(m.target for m in members)).encode()).hexdigest()
        return f"{prefix}:{self.now:%Y%m%dT%H%M}:{digest[:16]}"

    def link(self, members: list[Due], message_id: int) -> None:
        """Point each member's record at the message that carried it."""
        table = ReminderSent.__table__  # type: ignore[attr-defined]
        for stage in {m.stage.name for m in members}:
            targets = [m.target for m in members if m.stage.name == stage]
            self.session.execute(
                sa.update(table)
                .where(table.c.target.in_(targets), table.c.stage == stage)
                .values(message_id=message_id)
            )


def _state_recipients(batch: _Batch, obligation_id: int, members: list[Due]) -> list[Recipient]:
    """The states of one campaign's stage, each with its own portal link."""
    states = {r.iso3: r for r in member_state_recipients(batch.session)}
    expires = positions.link_expiry(members[0].due_at)
    return [
        replace(
            base,
            context={
                "link": positions.portal_link(obligation_id, item.recipient, expires_at=expires)
            },
        )
        for item in members
        if (base := states.get(item.recipient)) is not None
    ]


def _send_to_states(batch: _Batch, obligation_id: int, stage: str, members: list[Due]) -> int:
    """One message for one campaign's stage; the number of messages enqueued (0 or 1)."""
    recipients = _state_recipients(batch, obligation_id, members)
    if not recipients:
        return 0
    deadline = members[0].due_at
    days_left = positions.days_left(deadline, at=batch.now)
    result = enqueue(
        batch.session,
        key=batch.key(f"reminder:{obligation_id}:{stage}", members),
        kind="overdue" if stage.startswith("overdue") else "reminder",
        recipients=recipients,
        context={
            **batch.contexts.get(obligation_id, {}),
            "deadline": deadline,
            "days_left": max(days_left, 0),
            "days_overdue": max(-days_left, 1),
        },
        obligation_id=obligation_id,
        channels=batch.channels,
        actor="reminder_sweep",
    )
    batch.link(members, result.message_id)
    return 1


def _send_digest(batch: _Batch, role: str, members: list[Due]) -> int:
    """One digest for a role, however many of its deadlines are due (one message enqueued)."""
    lines = [
        _digest_line(m, batch.contexts.get(m.obligation_id, {}))
        for m in sorted(members, key=lambda m: (m.due_at, m.target))
    ]
    result = enqueue(
        batch.session,
        key=batch.key(f"reminder-digest:{role}", members),
        kind="briefing",
        recipients=[role_recipient(batch.session, role)],
        context={
            **batch.contexts.get(members[0].obligation_id, {}),
            "topic": f"{len(members)} deadline reminder(s)",
            "as_of": batch.now,
            "items": len(members),
            "summary": "\n".join(lines),
        },
        channels=batch.channels,
        actor="reminder_sweep",
    )
    batch.link(members, result.message_id)
    return 1


def enqueue_due(session: Session, items: list[Due], *, now: dt.datetime) -> dict[str, int]:
    """Record and enqueue the reminders: one message per (obligation, stage) to Member States,
    each with its own link, and one digest per internal role, not one notice per deadline."""
    fresh = _record(session, items, now=now)
    if not fresh:
        return {"reminders": 0, "messages": 0}
    positions.mark_reminded(session, [i.row_id for i in fresh if i.to_state], at=now)
    contexts = _resolution_context(session, {i.obligation_id for i in fresh})
    batch = _Batch(session, now, load_channels(), contexts)
    campaigns: dict[tuple[int, str], list[Due]] = defaultdict(list)
    digests: dict[str, list[Due]] = defaultdict(list)
    for item in fresh:
        if item.to_state:
            campaigns[(item.obligation_id, item.stage.name)].append(item)
        else:
            digests[item.recipient].append(item)
    messages = sum(_send_to_states(batch, *key, members) for key, members in campaigns.items())
    messages += sum(_send_digest(batch, role, members) for role, members in digests.items())
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
