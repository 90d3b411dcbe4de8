"""The register as pages, exports and reports read it: one line per obligation, one per Member
State of a campaign, and the counts behind them.

:func:`obligation_lines` gives each obligation with its paragraph, its resolution, what it
waits for (:class:`Counts`: approvals, deliveries, national positions) and its next action;
:func:`position_lines` gives every active Member State with its submission to a campaign. The
counts are a few grouped queries for a whole page, whatever its size. ``as_row`` turns a line
into the plain cells of :data:`OBLIGATION_COLUMNS` or :data:`POSITION_COLUMNS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from operative.core import clock
from operative.core.settings import get_settings
from operative.errors import Invalid
from operative.i18n import aware, local_formatter, local_time
from operative.models import (
    Approval,
    Delivery,
    DeliveryStatus,
    MemberState,
    Message,
    Obligation,
    ObligationStatus,
    Paragraph,
    Resolution,
    Submission,
)
from operative.playbooks import national_positions as positions
from operative.register import obligations
from operative.register.obligations import is_overdue

OBLIGATION_COLUMNS = (
    "id",
    "resolution",
    "paragraph",
    "verb",
    "addressee",
    "playbook",
    "status",
    "progress",
    "due_at",
    "overdue",
    "next_action",
    "approvals_pending",
    "deliveries_sent",
    "deliveries_failed",
    "last_flow_run_id",
)
POSITION_COLUMNS = (
    "state",
    "name",
    "language",
    "invited",
    "reminded",
    "received",
    "verdict",
    "reviewer",
    "attachment",
)


class PendingApproval(NamedTuple):
    """An approval still waiting for its decision, as a next action names it."""

    id: int
    obligation_id: int
    step: str
    role_asked: str


@dataclass(frozen=True)
class Counts:
    """What is known about one obligation besides its own row."""

    pending_approvals: list[PendingApproval] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    # Deliveries still to send (``operative status`` shows them).
    pending: int = 0
    # The counts of its national positions, when it has invited any.
    positions: positions.Summary | None = None

    def next_action(self, status: str, playbook: str) -> str:
        """What is next (:func:`operative.register.obligations.next_action`), given these counts."""
        first = self.pending_approvals[0] if self.pending_approvals else None
        summary = self.positions
        return obligations.next_action(
            status,
            playbook,
            approval=(first.id, first.step, first.role_asked) if first else None,
            failed=self.failed,
            positions=(summary.invited, summary.received, summary.unreviewed)
            if summary
            else (0, 0, 0),
        )


def plain_rows(
    session: Session, query: sa.Executable, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of a select of plain columns, in the session's transaction (sqlmodel's
    ``select`` types at most four columns, and its ``Session.execute`` is deprecated)."""
    return session.connection().execute(query, params).all()


# The statements of the grouped counts, built once: building one cost more than running it
# (SQLAlchemy's statement construction, ~100 us each, on every page view).
_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
_SUMMARIES = (
    sa.select(
        col(Submission.obligation_id),
        func.count(col(Submission.invited_at)),
        func.count(col(Submission.reminded_at)),
        func.count(col(Submission.received_at)),
        func.count(col(Submission.reviewed_at)),
        *(
            func.count(sa.case((col(Submission.verdict) == verdict, 1)))
            for verdict in positions.VERDICTS
        ),
    )
    .where(col(Submission.obligation_id).in_(_IDS))
    .group_by(col(Submission.obligation_id))
)
_PENDING_APPROVALS = (
    sa.select(
        col(Approval.id), col(Approval.obligation_id), col(Approval.step), col(Approval.role_asked)
    )
    .where(col(Approval.decision).is_(None), col(Approval.obligation_id).in_(_IDS))
    .order_by(col(Approval.requested_at), col(Approval.id))
)
# Counted from the index on (message_id, status) alone (migration 0007).
_DELIVERY_TALLIES = (
    sa.select(col(Message.obligation_id), col(Delivery.status), func.count())
    .join(Message, col(Delivery.message_id) == col(Message.id))
    .where(col(Message.obligation_id).in_(_IDS))
    .group_by(col(Message.obligation_id), col(Delivery.status))
)


def summaries(session: Session, obligation_ids: Sequence[int]) -> dict[int, positions.Summary]:
    """The counts of :func:`operative.playbooks.national_positions.summarise` for many
    campaigns in one grouped query (obligations with no submission are left out)."""
    if not obligation_ids:
        return {}
    found = {}
    rows = plain_rows(session, _SUMMARIES, {"ids": list(obligation_ids)})
    for obligation_id, invited, reminded, received, reviewed, *by_verdict in rows:
        found[int(obligation_id)] = positions.Summary(
            invited=int(invited),
            reminded=int(reminded),
            received=int(received),
            reviewed=int(reviewed),
            verdicts={
                verdict: int(count)
                for verdict, count in zip(positions.VERDICTS, by_verdict, strict=True)
            },
        )
    return found


def obligation_counts(session: Session, obligation_ids: Sequence[int]) -> dict[int, Counts]:
    """What each obligation waits for (approvals, deliveries, positions): a few grouped
    queries for all of them, whatever their number."""
    if not obligation_ids:
        return {}
    ids = {"ids": list(obligation_ids)}
    waiting: dict[int, list[PendingApproval]] = {}
    for row in plain_rows(session, _PENDING_APPROVALS, ids):
        waiting.setdefault(row[1], []).append(PendingApproval(*row))
    tallies: dict[tuple[int, str], int] = {}
    for obligation_id, status, count in plain_rows(session, _DELIVERY_TALLIES, ids):
        if obligation_id is not None:
            tallies[(obligation_id, str(getattr(status, "value", status)))] = int(count)
    campaigns = summaries(session, obligation_ids)
    return {
        oid: Counts(
            pending_approvals=waiting.get(oid, []),
            sent=tallies.get((oid, DeliveryStatus.sent.value), 0),
            failed=tallies.get((oid, DeliveryStatus.failed.value), 0),
            pending=tallies.get((oid, DeliveryStatus.pending.value), 0),
            positions=campaigns.get(oid),
        )
        for oid in obligation_ids
    }


@dataclass(frozen=True)
class ObligationLine:
    """An obligation with its paragraph and resolution, as pages, exports and reports show it."""

    obligation: Obligation
    paragraph: Paragraph
    resolution: Resolution
    counts: Counts
    overdue: bool
    next_action: str

    def as_row(self) -> dict[str, Any]:
        o, p, r = self.obligation, self.paragraph, self.resolution
        return {
            "id": o.id,
            "resolution": f"{r.body} {r.number}",
            "paragraph": p.num,
            "verb": p.verb_text or p.verb or "",
            "addressee": p.addressee or "",
            "playbook": o.playbook,
            "status": ObligationStatus(o.status).value,
            "progress": o.progress,
            "due_at": local_time(o.due_at),
            "overdue": self.overdue,
            "next_action": self.next_action,
            "approvals_pending": len(self.counts.pending_approvals),
            "deliveries_sent": self.counts.sent,
            "deliveries_failed": self.counts.failed,
            "last_flow_run_id": o.last_flow_run_id or "",
        }


_LINES = (
    select(Obligation, Paragraph, Resolution)
    .join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
    .join(Resolution, col(Paragraph.resolution_id) == Resolution.id)
    .order_by(col(Resolution.id), col(Paragraph.position))
)
_OF_RESOLUTION = col(Paragraph.resolution_id) == sa.bindparam("resolution_id")
_OF_OBLIGATIONS = col(Obligation.id).in_(sa.bindparam("obligation_ids", expanding=True))
# Built once per combination of filters (see _SUMMARIES).
_LINES_BY_FILTER = {
    (False, False): _LINES,
    (True, False): _LINES.where(_OF_RESOLUTION),
    (False, True): _LINES.where(_OF_OBLIGATIONS),
    (True, True): _LINES.where(_OF_RESOLUTION, _OF_OBLIGATIONS),
}


def obligation_lines(
    session: Session,
    *,
    resolution_id: int | None = None,
    obligation_ids: Sequence[int] | None = None,
) -> list[ObligationLine]:
    """Obligations in register order (resolution, then paragraph), with what they wait for."""
    query = _LINES_BY_FILTER[(resolution_id is not None, obligation_ids is not None)]
    params: dict[str, Any] = {"resolution_id": resolution_id}
    if obligation_ids is not None:
        params["obligation_ids"] = list(obligation_ids)
    rows = session.exec(query, params=params).all()
    counts = obligation_counts(session, [o.id for o, _p, _r in rows if o.id is not None])
    now = clock.now()
    lines = []
    for obligation, paragraph, resolution in rows:
        tally = counts.get(obligation.id or 0, Counts())
        lines.append(
            ObligationLine(
                obligation=obligation,
                paragraph=paragraph,
                resolution=resolution,
                counts=tally,
                overdue=is_overdue(obligation, now),
                next_action=tally.next_action(obligation.status, obligation.playbook),
            )
        )
    return lines


def obligation_rows(session: Session, *, resolution_id: int | None = None) -> list[dict[str, Any]]:
    """One plain row per obligation, columns :data:`OBLIGATION_COLUMNS`."""
    return [line.as_row() for line in obligation_lines(session, resolution_id=resolution_id)]


# Tuples, not frozen dataclasses: a campaign's page builds two per Member State, and a frozen
# dataclass costs ~1 us to build against ~0.25 us for a tuple.
class PositionState(NamedTuple):
    """A Member State as a positions list shows it."""

    iso3: str
    name_en: str
    name_fr: str
    name_es: str
    language: str


class PositionSubmission(NamedTuple):
    """Where a state's submission stands (its text and file are not read for a list)."""

    invited_at: dt.datetime | None
    reminded_at: dt.datetime | None
    received_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    verdict: str | None
    reviewer: str | None
    attachment_name: str | None


@dataclass(frozen=True)
class PositionLine:
    """One Member State in a national-positions campaign (invited or not)."""

    state: PositionState
    submission: PositionSubmission | None

    @property
    def verdict(self) -> str:
        row = self.submission
        if row is None or row.received_at is None:
            return ""
        return row.verdict or "to review"

    def as_row(self, day: Callable[[dt.datetime | None], str] | None = None) -> dict[str, Any]:
        """The line's cells; ``day`` formats a time as a local date (pass one
        :func:`local_formatter` for a whole list)."""
        row = self.submission
        day = day or local_formatter("YYYY-MM-DD")
        return {
            "state": self.state.iso3,
            "name": self.state.name_en,
            "language": self.state.language,
            "invited": day(row.invited_at) if row else "",
            "reminded": day(row.reminded_at) if row else "",
            "received": day(row.received_at) if row else "",
            "verdict": self.verdict,
            "reviewer": (row.reviewer or "") if row else "",
            "attachment": (row.attachment_name or "") if row else "",
        }


_POSITION_LINES = (
    sa.select(
        col(MemberState.iso3),
        col(MemberState.name_en),
        col(MemberState.name_fr),
        col(MemberState.name_es),
        col(MemberState.language),
        col(Submission.id),
        col(Submission.invited_at),
        col(Submission.reminded_at),
        col(Submission.received_at),
        col(Submission.reviewed_at),
        col(Submission.verdict),
        col(Submission.reviewer),
        col(Submission.attachment_name),
    )
    .outerjoin(
        Submission,
        sa.and_(
            col(Submission.member_state_iso3) == col(MemberState.iso3),
            col(Submission.obligation_id) == sa.bindparam("obligation_id"),
        ),
    )
    .where(col(MemberState.active))
    .order_by(col(MemberState.iso3))
)
POSITION_STATES = ("invited", "reminded", "received", "not_received", "to_review", "reviewed")


def position_lines(
    session: Session,
    obligation_id: int,
    *,
    language: str | None = None,
    state: str | None = None,
    verdict: str | None = None,
    search: str | None = None,
) -> list[PositionLine]:
    """Every active Member State with its submission to a campaign, filtered, by ISO code.

    ``state`` is one of :data:`POSITION_STATES`; ``verdict`` one of
    :data:`operative.playbooks.national_positions.VERDICTS`; ``search`` matches the code or a name.
    """
    check_position_filters(state=state, verdict=verdict)
    lines = [
        PositionLine(
            PositionState(*row[:5]),
            PositionSubmission(*row[6:]) if row[5] is not None else None,
        )
        for row in plain_rows(session, _POSITION_LINES, {"obligation_id": obligation_id})
    ]
    return filter_positions(lines, language=language, state=state, verdict=verdict, search=search)


def check_position_filters(*, state: str | None = None, verdict: str | None = None) -> None:
    """``Invalid`` for a stage or verdict that does not exist."""
    if state is not None and state not in POSITION_STATES:
        raise Invalid(f"state {state!r}: expected one of {', '.join(POSITION_STATES)}")
    if verdict is not None and verdict not in positions.VERDICTS:
        raise Invalid(f"verdict {verdict!r}: expected one of {', '.join(positions.VERDICTS)}")


def _at_stage(row: PositionSubmission | None, stage: str) -> bool:
    if row is None:
        return False
    return {
        "invited": row.invited_at is not None,
        "reminded": row.reminded_at is not None,
        "received": row.received_at is not None,
        "not_received": row.invited_at is not None and row.received_at is None,
        "to_review": row.received_at is not None and row.verdict is None,
        "reviewed": row.verdict is not None,
    }[stage]


def filter_positions(
    lines: Iterable[PositionLine],
    *,
    language: str | None = None,
    state: str | None = None,
    verdict: str | None = None,
    search: str | None = None,
) -> list[PositionLine]:
    """The lines that pass every filter given (a campaign has one line per Member State, so
    they are filtered here rather than by one query per filter combination)."""
    check_position_filters(state=state, verdict=verdict)
    needle = search.strip().casefold() if search else ""
    return [
        line
        for line in lines
        if _member_matches(line.state, language, needle)
        and _submission_matches(line.submission, state, verdict)
    ]


def _member_matches(member: PositionState, language: str | None, needle: str) -> bool:
    if language and member.language != language:
        return False
    return not needle or any(
        needle in name.casefold()
        for name in (member.iso3, member.name_en, member.name_fr, member.name_es)
    )


def _submission_matches(
    row: PositionSubmission | None, state: str | None, verdict: str | None
) -> bool:
    if state and not _at_stage(row, state):
        return False
    return not verdict or (row is not None and row.verdict == verdict)


def position_rows(session: Session, obligation_id: int) -> list[dict[str, Any]]:
    """One plain row per Member State of a campaign, columns :data:`POSITION_COLUMNS`."""
    day = local_formatter("YYYY-MM-DD")
    return [line.as_row(day) for line in position_lines(session, obligation_id)]


_RECEIVED = sa.select(col(Submission.received_at)).where(
    col(Submission.obligation_id) == sa.bindparam("obligation_id"),
    col(Submission.received_at).is_not(None),
)


def submissions_by_day(session: Session, obligation_id: int) -> list[tuple[dt.date, int]]:
    """How many positions arrived each day (Geneva dates), in date order."""
    zone = ZoneInfo(get_settings().timezone)
    days: dict[dt.date, int] = {}
    for (received,) in plain_rows(session, _RECEIVED, {"obligation_id": obligation_id}):
        if received is not None:
            day = aware(received).astimezone(zone).date()
            days[day] = days.get(day, 0) + 1
    return sorted(days.items())
