"""What the pages and the API read: one function per view, shared by both.

Every list here is paginated by ``limit``/``offset`` and returns its total, so the API and the
pages page the same way; the heavy lists (events, deliveries) are counted and sliced in SQL.
The statements are built once, at import (building one cost more than running it). How a page
shows what is read here is :mod:`operative.web.present`'s business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from operative.errors import Invalid, NotFound
from operative.models import (
    FINISHED,
    Activity,
    Approval,
    Delivery,
    DeliveryStatus,
    Document,
    Event,
    Message,
    Obligation,
    ObligationStatus,
    Paragraph,
    Record,
    Resolution,
    Submission,
)
from operative.playbooks import national_positions as positions
from operative.reporting import read_model

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Paged(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if following < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def number(self) -> int:
        """This page's number, from 1."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def page_of(items: Sequence[T], limit: int, offset: int) -> Paged[T]:
    """The page of a list read whole."""
    return Paged(list(items[offset : offset + limit]), len(items), limit, offset)


# --- overview ---------------------------------------------------------------------------------


OVERVIEW_PER_PAGE = 10
# The overview shows a paragraph's opening words: only so much of its text is read
# (present.EXCERPT_SHOWN of them are shown).
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class ResolutionRef:
    """What a link to a resolution needs."""

    id: int
    body: str
    number: str
    adopted_on: dt.date | None
    title: str


@dataclass(frozen=True)
class Overview:
    """A page of resolutions with their obligations, as read (:func:`present.overview` makes
    the page of it): ``rows`` are the plain columns of ``_OVERVIEW_ROWS``, left as the driver
    gave them, and ``counts`` what each obligation waits for."""

    resolutions: list[ResolutionRef]
    rows: Sequence[Any]
    counts: dict[int, read_model.Counts]
    total: int
    limit: int
    offset: int


_REF_COLUMNS = (
    col(Resolution.id),
    col(Resolution.body),
    col(Resolution.number),
    col(Resolution.adopted_on),
    col(Resolution.title),
)


def resolution_refs(session: Session) -> list[ResolutionRef]:
    """Every resolution, newest first (by adoption, then registration), without its text."""
    rows = read_model.plain_rows(session, sa.select(*_REF_COLUMNS).order_by(*_newest_first()))
    return [ResolutionRef(*row) for row in rows]


def _newest_first() -> tuple[Any, ...]:
    # NULLs last on both databases: a resolution with no adoption date sorts as the oldest.
    return (
        col(Resolution.adopted_on).is_(None),
        col(Resolution.adopted_on).desc(),
        col(Resolution.id).desc(),
    )


_RESOLUTION_COUNT = sa.select(func.count()).select_from(Resolution)
_RESOLUTION_PAGE = (
    sa.select(*_REF_COLUMNS)
    .order_by(*_newest_first())
    .offset(sa.bindparam("offset", type_=sa.Integer))
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
# present.overview unpacks these columns in this order.
_OVERVIEW_ROWS = (
    sa.select(
        col(Paragraph.resolution_id),
        col(Obligation.id),
        col(Paragraph.num),
        col(Paragraph.verb_text),
        col(Paragraph.verb),
        col(Paragraph.addressee),
        sa.func.substr(col(Paragraph.text), 1, EXCERPT_CHARS),
        col(Obligation.playbook),
        col(Obligation.status),
        col(Obligation.progress),
        col(Obligation.due_at),
        col(Obligation.last_flow_run_id),
    )
    .join(Paragraph, col(Obligation.paragraph_id) == col(Paragraph.id))
    .where(col(Paragraph.resolution_id).in_(sa.bindparam("ids", expanding=True)))
    .order_by(col(Paragraph.resolution_id), col(Paragraph.position))
)


def overview(session: Session, *, limit: int = OVERVIEW_PER_PAGE, offset: int = 0) -> Overview:
    """A page of resolutions, newest first, with their obligations in paragraph order.

    Only the columns shown are read (a paragraph's text is cut in SQL), and what the
    obligations wait for is counted for the whole page at once
    (:func:`read_model.obligation_counts`).
    """
    total = int(session.connection().execute(_RESOLUTION_COUNT).scalar_one())
    window = {"offset": offset, "limit": limit}
    refs = [ResolutionRef(*row) for row in read_model.plain_rows(session, _RESOLUTION_PAGE, window)]
    if not refs:
        return Overview(refs, [], {}, total, limit, offset)
    rows = read_model.plain_rows(session, _OVERVIEW_ROWS, {"ids": [ref.id for ref in refs]})
    counts = read_model.obligation_counts(session, [row[1] for row in rows])
    return Overview(refs, rows, counts, total, limit, offset)


def obligations(
    session: Session,
    *,
    resolution_id: int | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> list[read_model.ObligationLine]:
    """Obligations in register order, of one resolution, status or overdue flag if given."""
    if status is not None and status not in {s.value for s in ObligationStatus}:
        raise Invalid(
            f"status {status!r}: expected one of {', '.join(s.value for s in ObligationStatus)}"
        )
    return [
        line
        for line in read_model.obligation_lines(session, resolution_id=resolution_id)
        if (status is None or line.obligation.status == status)
        and (overdue is None or line.overdue == overdue)
    ]


def obligation_line(session: Session, obligation_id: int) -> read_model.ObligationLine:
    """One obligation with its paragraph and what it waits for; ``NotFound`` if unknown."""
    lines = read_model.obligation_lines(session, obligation_ids=[obligation_id])
    if not lines:
        raise NotFound(f"no obligation {obligation_id}")
    return lines[0]


def resolutions_page(session: Session, *, limit: int, offset: int) -> Paged[Resolution]:
    total = session.exec(select(func.count()).select_from(Resolution)).one()
    rows = session.exec(
        select(Resolution).order_by(col(Resolution.id)).offset(offset).limit(limit)
    ).all()
    return Paged(list(rows), int(total), limit, offset)


# --- one obligation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligationDetail:
    line: read_model.ObligationLine
    approvals: list[Approval]
    documents: list[Document]
    records: list[Record]
    activities: list[Activity]
    failed_deliveries: list[tuple[Delivery, Message]]


# The statements of an obligation's page, built once with its id as a parameter (building
# them cost more than running them).
_OID: sa.BindParameter[int] = sa.bindparam("oid")
_APPROVALS_OF = (
    select(Approval)
    .where(col(Approval.obligation_id) == _OID)
    .order_by(col(Approval.requested_at).desc(), col(Approval.id).desc())
)
_DOCUMENTS_OF = (
    select(Document)
    .where(col(Document.obligation_id) == _OID)
    .order_by(col(Document.created_at).desc(), col(Document.id).desc())
)
_RECORDS_OF = (
    select(Record)
    .where(col(Record.obligation_id) == _OID)
    .order_by(col(Record.occurred_at), col(Record.id))
)
_ACTIVITIES_OF = (
    select(Activity)
    .where(col(Activity.obligation_id) == _OID)
    .order_by(col(Activity.occurred_on), col(Activity.id))
)


# The failed deliveries' ids first, found by walking the obligation's messages in the index
# on (message_id, status) (migration 0007) and read from it alone, then only those rows.
# Asked for whole rows ordered by delivery id, SQLite (no statistics) read every failed
# delivery of the register instead.
_FAILED_OF = (
    select(Delivery, Message)
    .join(Message, col(Delivery.message_id) == col(Message.id))
    .where(
        col(Delivery.id).in_(
            sa.select(col(Delivery.id))
            .join(Message, col(Delivery.message_id) == col(Message.id))
            .where(
                col(Delivery.status) == DeliveryStatus.failed, col(Message.obligation_id) == _OID
            )
            .order_by(col(Message.id).desc(), col(Delivery.id).desc())
            .limit(MAX_LIMIT)
        )
    )
    .order_by(col(Delivery.id).desc())
)


def obligation_detail(session: Session, obligation_id: int) -> ObligationDetail:
    line = obligation_line(session, obligation_id)
    oid = {"oid": obligation_id}
    return ObligationDetail(
        line=line,
        approvals=list(session.exec(_APPROVALS_OF, params=oid)),
        documents=list(session.exec(_DOCUMENTS_OF, params=oid)),
        records=list(session.exec(_RECORDS_OF, params=oid)),
        activities=list(session.exec(_ACTIVITIES_OF, params=oid)),
        failed_deliveries=[(d, m) for d, m in session.exec(_FAILED_OF, params=oid)],
    )


def _subjects(prefix: str, column: Any) -> Any:
    return sa.literal(prefix).concat(sa.cast(column, sa.String))


_RELATED_SUBJECTS = sa.union_all(
    sa.select(_subjects("approval:", Approval.id)).where(col(Approval.obligation_id) == _OID),
    sa.select(_subjects("message:", Message.id)).where(col(Message.obligation_id) == _OID),
    sa.select(_subjects("delivery:", Delivery.id))
    .join(Message, col(Delivery.message_id) == col(Message.id))
    .where(col(Message.obligation_id) == _OID, col(Delivery.attempts) > 0)
    .where(
        sa.or_(
            col(Delivery.status) == DeliveryStatus.failed,
            col(Delivery.failures) > 0,
            col(Delivery.escalated_at).is_not(None),
        )
    ),
    sa.select(_subjects("submission:", Submission.id)).where(col(Submission.obligation_id) == _OID),
)
_TIMELINE = sa.or_(
    col(Event.subject) == sa.bindparam("subject"),
    col(Event.subject).in_(sa.select(_RELATED_SUBJECTS.subquery())),
)
_TIMELINE_COUNT = sa.select(func.count()).select_from(Event).where(_TIMELINE)
# The page's ids come from the subject index alone; only those rows are then read, not every
# event of the obligation (hundreds, with their hashes and payloads).
_TIMELINE_PAGE = (
    select(Event)
    .where(
        col(Event.id).in_(
            sa.select(col(Event.id))
            .where(_TIMELINE)
            .order_by(col(Event.id).desc())
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .limit(sa.bindparam("limit", type_=sa.Integer))
        )
    )
    .order_by(col(Event.id).desc())
)


def events_page(session: Session, obligation_id: int, *, limit: int, offset: int) -> Paged[Event]:
    """The audit timeline of an obligation, newest first: its own events and those of its
    approvals, messages, deliveries and submissions."""
    params = {
        "oid": obligation_id,
        "subject": f"obligation:{obligation_id}",
        "offset": offset,
        "limit": limit,
    }
    total = session.connection().execute(_TIMELINE_COUNT, params).scalar_one()
    rows = session.exec(_TIMELINE_PAGE, params=params).all()
    return Paged(list(rows), int(total), limit, offset)


# --- approvals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalItem:
    approval: Approval
    document: Document | None
    line: read_model.ObligationLine | None


def _listing(query: Any) -> tuple[Any, Any]:
    """The count of ``query``'s rows and its page (``offset``, ``limit``), as statements."""
    count = select(func.count()).select_from(query.subquery())
    window = query.offset(sa.bindparam("offset", type_=sa.Integer))
    return count, window.limit(sa.bindparam("limit", type_=sa.Integer))


# Waiting: oldest first; decided or all: newest first.
_APPROVAL_LISTS = {
    "pending": _listing(
        select(Approval)
        .where(col(Approval.decision).is_(None))
        .order_by(col(Approval.requested_at), col(Approval.id))
    ),
    "decided": _listing(
        select(Approval)
        .where(col(Approval.decision).is_not(None))
        .order_by(col(Approval.id).desc())
    ),
    "all": _listing(select(Approval).order_by(col(Approval.id).desc())),
}
APPROVAL_STATES = tuple(_APPROVAL_LISTS)


def approvals_page(
    session: Session, *, state: str = "pending", limit: int, offset: int
) -> Paged[ApprovalItem]:
    """Approvals waiting (oldest first), decided (newest first) or all (newest first)."""
    if state not in _APPROVAL_LISTS:
        raise Invalid(f"state {state!r}: expected one of {', '.join(APPROVAL_STATES)}")
    count, page = _APPROVAL_LISTS[state]
    total = session.exec(count).one()
    rows = session.exec(page, params={"offset": offset, "limit": limit}).all()
    return Paged(_approval_items(session, rows), int(total), limit, offset)


def _approval_items(session: Session, approvals: Sequence[Approval]) -> list[ApprovalItem]:
    """Each approval with its draft and its obligation's line, read for all of them at once."""
    document_ids = [a.document_id for a in approvals if a.document_id is not None]
    documents = {
        d.id: d for d in session.exec(select(Document).where(col(Document.id).in_(document_ids)))
    }
    lines = {
        line.obligation.id: line
        for line in read_model.obligation_lines(
            session, obligation_ids=sorted({a.obligation_id for a in approvals})
        )
    }
    return [
        ApprovalItem(
            approval=a,
            document=documents.get(a.document_id) if a.document_id else None,
            line=lines.get(a.obligation_id),
        )
        for a in approvals
    ]


def approval_history(session: Session, approval: Approval) -> list[Approval]:
    """Earlier drafts of the same step and cycle, with their decisions."""
    return list(
        session.exec(
            select(Approval)
            .where(
                Approval.obligation_id == approval.obligation_id,
                Approval.step == approval.step,
                Approval.cycle == approval.cycle,
                col(Approval.attempt) < approval.attempt,
            )
            .order_by(col(Approval.attempt))
        )
    )


# --- deliveries -------------------------------------------------------------------------------

DELIVERY_STATES = tuple(s.value for s in DeliveryStatus)


def deliveries_page(
    session: Session,
    *,
    status: str | None = None,
    obligation_id: int | None = None,
    limit: int,
    offset: int,
) -> Paged[tuple[Delivery, Message]]:
    """Deliveries, newest first, optionally of one status or one obligation."""
    if status is not None and status not in DELIVERY_STATES:
        raise Invalid(f"status {status!r}: expected one of {', '.join(DELIVERY_STATES)}")
    query = select(Delivery, Message).join(Message, col(Delivery.message_id) == col(Message.id))
    if status is not None:
        query = query.where(Delivery.status == status)
    if obligation_id is not None:
        query = query.where(Message.obligation_id == obligation_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Delivery.id).desc()).offset(offset).limit(limit)).all()
    return Paged([(d, m) for d, m in rows], int(total), limit, offset)


def delivery(session: Session, delivery_id: int) -> tuple[Delivery, Message]:
    """One delivery and its message; ``NotFound`` if unknown."""
    found = session.exec(
        select(Delivery, Message)
        .join(Message, col(Delivery.message_id) == col(Message.id))
        .where(Delivery.id == delivery_id)
    ).first()
    if found is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    return found[0], found[1]


# --- national positions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """The national-positions obligation a positions page is about."""

    id: int
    status: str
    due_at: dt.datetime | None


@dataclass(frozen=True)
class PositionsView:
    campaigns: list[int]
    campaign: Campaign | None
    lines: Paged[read_model.PositionLine]
    summary: positions.Summary | None
    languages: dict[str, int]
    # Positions received per day, oldest first (the page draws them as a chart).
    received_by_day: list[tuple[dt.date, int]]


_CAMPAIGN = sa.select(col(Obligation.status), col(Obligation.due_at)).where(
    col(Obligation.id) == _OID
)


def positions_view(
    session: Session,
    *,
    obligation_id: int | None = None,
    language: str | None = None,
    state: str | None = None,
    verdict: str | None = None,
    search: str | None = None,
    limit: int = MAX_LIMIT,
    offset: int = 0,
) -> PositionsView:
    """A campaign's Member States (filtered and paged), its counts and its chart.

    The campaign's lines are read once; the counts by language come from them, the filters
    are applied to them, and the other counts are one grouped query.
    """
    read_model.check_position_filters(state=state, verdict=verdict)
    found = positions.campaign_ids(session)
    chosen = positions.chosen_campaign(found, obligation_id)
    if chosen is None:
        return PositionsView(found, None, Paged([], 0, limit, offset), None, {}, [])
    status, due_at = session.connection().execute(_CAMPAIGN, {"oid": chosen}).one()
    campaign = Campaign(chosen, str(getattr(status, "value", status)), due_at)
    everyone = read_model.position_lines(session, chosen)
    languages: dict[str, int] = {}
    for line in everyone:
        languages[line.state.language] = languages.get(line.state.language, 0) + 1
    lines = read_model.filter_positions(
        everyone, language=language, state=state, verdict=verdict, search=search
    )
    summary = read_model.summaries(session, [chosen]).get(chosen) or positions.Summary.empty()
    return PositionsView(
        campaigns=found,
        campaign=campaign,
        lines=page_of(lines, limit, offset),
        summary=summary,
        languages=dict(sorted(languages.items())),
        received_by_day=read_model.submissions_by_day(session, chosen),
    )


def submission_file(session: Session, obligation_id: int, iso3: str) -> Submission | None:
    """A state's submission to a campaign, to serve its file (``iso3`` in any case)."""
    return session.exec(
        select(Submission).where(
            Submission.obligation_id == obligation_id,
            Submission.member_state_iso3 == iso3.upper(),
        )
    ).first()


# --- calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    open: list[read_model.ObligationLine]
    met: list[read_model.ObligationLine]


def deadlines(session: Session, *, met_limit: int = 20) -> Deadlines:
    """Open deadlines, soonest (most overdue) first, and the latest ones met."""
    lines = [line for line in read_model.obligation_lines(session) if line.obligation.due_at]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    open_lines = sorted(
        (line for line in lines if line.obligation.status not in FINISHED),
        key=lambda line: line.obligation.due_at or far,
    )
    met = sorted(
        (line for line in lines if line.obligation.status == ObligationStatus.done),
        key=lambda line: line.obligation.due_at or far,
        reverse=True,
    )[:met_limit]
    return Deadlines(open=open_lines, met=met)
