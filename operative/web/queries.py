"""What the pages and the API read: one function per view, shared by both.

Every list here is paginated by ``limit``/``offset`` and returns its total, so the API and the
pages page the same way; the heavy lists (events, deliveries) are counted and sliced in SQL.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from operative.core import clock as calendar
from operative.models import (
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
from operative.register.obligations import is_overdue
from operative.reporting import reports

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


def page_numbers(page: Paged[Any], *, around: int = 2) -> list[int | None]:
    """The page numbers to link: the first, the last and those near this one; None marks a gap."""
    wanted = {1, page.pages, *range(page.number - around, page.number + around + 1)}
    numbers: list[int | None] = []
    for number in sorted(n for n in wanted if 1 <= n <= page.pages):
        if numbers and numbers[-1] is not None and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _slice(items: Sequence[T], limit: int, offset: int) -> Paged[T]:
    return Paged(list(items[offset : offset + limit]), len(items), limit, offset)


# --- Prefect links (read from files only: the web app never imports Prefect) -----------------


def prefect_ui_base(data_dir: Path) -> str | None:
    """Where a flow run can be looked at: ``PREFECT_UI_URL``, else the API of the configured
    or a recorded local server (``<data dir>/prefect/servers/*.url``), without its ``/api``."""
    url = os.environ.get("PREFECT_UI_URL") or os.environ.get("PREFECT_API_URL")
    if not url:
        for path in sorted((data_dir / "prefect" / "servers").glob("*.url")):
            try:
                url = path.read_text(encoding="utf-8").strip()
            except OSError:
                continue
            if url:
                break
    if not url:
        return None
    url = url.rstrip("/")
    return url[: -len("/api")] if url.endswith("/api") else url


def flow_run_url(base: str | None, run_id: str | None) -> str | None:
    if not base or not run_id:
        return None
    return f"{base}/runs/flow-run/{run_id}"


# --- overview ---------------------------------------------------------------------------------


OVERVIEW_PER_PAGE = 10
# The overview shows a paragraph's opening words: only so much of its text is read.
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class ResolutionRef:
    """What a link to a resolution needs."""

    id: int
    body: str
    number: str
    adopted_on: dt.date | None
    title: str


class OverviewRow(NamedTuple):
    """One obligation as the overview shows it: plain values and the strings the page prints,
    all made before the page renders (a template's filter or macro per cell, times a page of
    rows, cost more than the queries). A tuple, like the page's other rows: cheaper to build
    than a frozen dataclass."""

    id: int
    num: str
    verb_text: str
    addressee: str
    excerpt: str
    playbook: str
    status: str
    status_label: str
    progress: int
    due_at: dt.datetime | None
    due: str
    overdue: bool
    next_action: str
    last_flow_run_id: str | None
    flow_run_url: str | None


class _Due(NamedTuple):
    status: str
    due_at: dt.datetime | None


@dataclass(frozen=True)
class ResolutionBlock:
    resolution: ResolutionRef
    rows: list[OverviewRow]


_REF_COLUMNS = (
    col(Resolution.id),
    col(Resolution.body),
    col(Resolution.number),
    col(Resolution.adopted_on),
    col(Resolution.title),
)


def resolution_refs(session: Session) -> list[ResolutionRef]:
    """Every resolution, newest first (by adoption, then registration), without its text."""
    rows = reports.plain_rows(session, sa.select(*_REF_COLUMNS).order_by(*_newest_first()))
    return [ResolutionRef(*row) for row in rows]


def _newest_first() -> tuple[Any, ...]:
    # NULLs last on both databases: a resolution with no adoption date sorts as the oldest.
    return (
        col(Resolution.adopted_on).is_(None),
        col(Resolution.adopted_on).desc(),
        col(Resolution.id).desc(),
    )


# The overview's statements are built once (building one cost more than running it).
_RESOLUTION_COUNT = sa.select(func.count()).select_from(Resolution)
_RESOLUTION_PAGE = (
    sa.select(*_REF_COLUMNS)
    .order_by(*_newest_first())
    .offset(sa.bindparam("offset", type_=sa.Integer))
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
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
# The overview shows this much of a paragraph's opening words.
EXCERPT_SHOWN = 160


def truncate(text: str, length: int, *, leeway: int = 5, end: str = "...") -> str:
    """Jinja's ``truncate`` filter (its defaults): a text at most ``length`` + ``leeway``
    long is kept whole, a longer one is cut at a word boundary and ends with ``end``."""
    if len(text) <= length + leeway:
        return text
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


def overview(
    session: Session,
    *,
    limit: int = OVERVIEW_PER_PAGE,
    offset: int = 0,
    prefect: str | None = None,
) -> Paged[ResolutionBlock]:
    """A page of resolutions, newest first, each with its obligations in paragraph order.

    Only the columns shown are read (a paragraph's text is cut in SQL), and what the
    obligations wait for is counted for the whole page at once (:func:`reports.obligation_counts`).
    ``prefect`` is the base of the flow-run links (:func:`prefect_ui_base`).
    """
    total = session.connection().execute(_RESOLUTION_COUNT).scalar_one()
    refs = [
        ResolutionRef(*row)
        for row in reports.plain_rows(session, _RESOLUTION_PAGE, {"offset": offset, "limit": limit})
    ]
    blocks = {ref.id: ResolutionBlock(ref, []) for ref in refs}
    if not blocks:
        return Paged([], int(total), limit, offset)
    rows = reports.plain_rows(session, _OVERVIEW_ROWS, {"ids": list(blocks)})
    counts = reports.obligation_counts(session, [row[1] for row in rows])
    now = calendar.now()
    local = reports.local_formatter()
    for resolution_id, oid, num, verb_text, verb, addressee, excerpt, *rest in rows:
        playbook, status, progress, due_at, run_id = rest
        status = str(getattr(status, "value", status))
        blocks[resolution_id].rows.append(
            OverviewRow(
                id=oid,
                num=num,
                verb_text=verb_text or verb or "",
                addressee=addressee or "",
                excerpt=truncate(excerpt or "", EXCERPT_SHOWN),
                playbook=playbook,
                status=status,
                status_label=status.replace("_", " "),
                progress=progress,
                due_at=due_at,
                due=local(due_at) or "—",
                # is_overdue reads only these two: the rule stays in one place, without
                # building a table object (~60 us) per row.
                overdue=is_overdue(cast(Obligation, _Due(status, due_at)), now),
                next_action=reports.next_action(status, playbook, counts[oid]),
                last_flow_run_id=run_id,
                flow_run_url=flow_run_url(prefect, run_id),
            )
        )
    return Paged(list(blocks.values()), int(total), limit, offset)


def obligations_page(
    session: Session,
    *,
    limit: int,
    offset: int,
    resolution_id: int | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> Paged[reports.ObligationLine]:
    if status is not None and status not in {s.value for s in ObligationStatus}:
        raise ValueError(
            f"status {status!r}: expected one of {', '.join(s.value for s in ObligationStatus)}"
        )
    lines = [
        line
        for line in reports.obligation_lines(session, resolution_id=resolution_id)
        if (status is None or line.obligation.status == status)
        and (overdue is None or line.overdue == overdue)
    ]
    return _slice(lines, limit, offset)


def obligation_line(session: Session, obligation_id: int) -> reports.ObligationLine:
    """One obligation with its paragraph and what it waits for; ``LookupError`` if unknown."""
    lines = reports.obligation_lines(session, obligation_ids=[obligation_id])
    if not lines:
        raise LookupError(f"no obligation {obligation_id}")
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
    line: reports.ObligationLine
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


class TimelineEntry(NamedTuple):
    """An audit event as the timeline prints it (strings made in one pass, not per cell)."""

    kind: str
    subject: str
    actor: str
    at_iso: str
    at_local: str
    payload: str


def timeline_entries(events: Paged[Event]) -> Paged[TimelineEntry]:
    """The page of events with the strings the timeline shows."""
    local = reports.local_formatter()
    return Paged(
        [
            TimelineEntry(
                kind=event.kind,
                subject=event.subject,
                actor=event.actor,
                at_iso=event.occurred_at.isoformat(),
                at_local=local(event.occurred_at) or "—",
                payload=truncate(event.payload, 160)
                if event.payload and event.payload != "{}"
                else "",
            )
            for event in events.items
        ],
        events.total,
        events.limit,
        events.offset,
    )


# --- approvals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalItem:
    approval: Approval
    document: Document | None
    line: reports.ObligationLine | None


APPROVAL_STATES = ("pending", "decided", "all")


def approvals_page(
    session: Session, *, state: str = "pending", limit: int, offset: int
) -> Paged[ApprovalItem]:
    """Approvals waiting (oldest first), decided (newest first) or all (newest first)."""
    if state not in APPROVAL_STATES:
        raise ValueError(f"state {state!r}: expected one of {', '.join(APPROVAL_STATES)}")
    query = select(Approval)
    if state == "pending":
        query = query.where(col(Approval.decision).is_(None)).order_by(
            col(Approval.requested_at), col(Approval.id)
        )
    else:
        if state == "decided":
            query = query.where(col(Approval.decision).is_not(None))
        query = query.order_by(col(Approval.id).desc())
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.offset(offset).limit(limit)).all()
    document_ids = [a.document_id for a in rows if a.document_id is not None]
    documents = {
        d.id: d for d in session.exec(select(Document).where(col(Document.id).in_(document_ids)))
    }
    lines = {
        line.obligation.id: line
        for line in reports.obligation_lines(
            session, obligation_ids=sorted({a.obligation_id for a in rows})
        )
    }
    items = [
        ApprovalItem(
            approval=a,
            document=documents.get(a.document_id) if a.document_id else None,
            line=lines.get(a.obligation_id),
        )
        for a in rows
    ]
    return Paged(items, int(total), limit, offset)


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
        raise ValueError(f"status {status!r}: expected one of {', '.join(DELIVERY_STATES)}")
    query = select(Delivery, Message).join(Message, col(Delivery.message_id) == col(Message.id))
    if status is not None:
        query = query.where(Delivery.status == status)
    if obligation_id is not None:
        query = query.where(Message.obligation_id == obligation_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Delivery.id).desc()).offset(offset).limit(limit)).all()
    return Paged([(d, m) for d, m in rows], int(total), limit, offset)


def delivery(session: Session, delivery_id: int) -> tuple[Delivery, Message]:
    """One delivery and its message; ``LookupError`` if unknown."""
    found = session.exec(
        select(Delivery, Message)
        .join(Message, col(Delivery.message_id) == col(Message.id))
        .where(Delivery.id == delivery_id)
    ).first()
    if found is None:
        raise LookupError(f"no delivery with id {delivery_id}")
    return found[0], found[1]


# --- national positions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Positions received per day and in total, drawn as inline SVG."""

    width: int
    height: int
    bars: list[Bar]
    line: str
    total: int
    peak: int
    first: str
    last: str


def submissions_chart(
    days: list[tuple[dt.date, int]], *, width: int = 640, height: int = 160
) -> Chart | None:
    """Bars per day, scaled to the busiest day, and the cumulative total as a line."""
    if not days:
        return None
    start, end = days[0][0], days[-1][0]
    span = max(1, (end - start).days + 1)
    step = width / span
    peak = max(count for _day, count in days)
    total = sum(count for _day, count in days)
    bars, points, running = [], [], 0
    for day, count in days:
        x = (day - start).days * step
        bar_height = (height - 10) * count / peak
        bars.append(
            Bar(
                round(x, 1),
                round(height - bar_height, 1),
                round(max(1.0, step * 0.8), 1),
                round(bar_height, 1),
                f"{day.isoformat()}: {count}",
            )
        )
        running += count
        points.append(f"{x + step / 2:.1f},{height - (height - 10) * running / total:.1f}")
    return Chart(
        width=width,
        height=height,
        bars=bars,
        line=" ".join(points),
        total=total,
        peak=peak,
        first=start.isoformat(),
        last=end.isoformat(),
    )


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
    lines: Paged[reports.PositionLine]
    summary: positions.Summary | None
    chart: Chart | None
    languages: dict[str, int]


_CAMPAIGN_IDS = (
    sa.select(col(Obligation.id))
    .where(col(Obligation.playbook) == "national_positions")
    .order_by(col(Obligation.id))
)
_CAMPAIGN = sa.select(col(Obligation.status), col(Obligation.due_at)).where(
    col(Obligation.id) == _OID
)


def campaign_ids(session: Session) -> list[int]:
    """The obligations that collect national positions, oldest first (ids only)."""
    return [int(oid) for (oid,) in reports.plain_rows(session, _CAMPAIGN_IDS)]


def _chosen_campaign(found: list[int], obligation_id: int | None) -> int | None:
    if obligation_id is not None and obligation_id not in found:
        raise LookupError(f"obligation {obligation_id} does not collect national positions")
    return obligation_id if obligation_id is not None else (found[0] if found else None)


def campaign_id(session: Session, obligation_id: int | None = None) -> int:
    """``obligation_id`` if it collects national positions, else the first campaign;
    ``LookupError`` when there is none."""
    chosen = _chosen_campaign(campaign_ids(session), obligation_id)
    if chosen is None:
        raise LookupError("no obligation collects national positions")
    return chosen


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
    reports.check_position_filters(state=state, verdict=verdict)
    found = campaign_ids(session)
    chosen = _chosen_campaign(found, obligation_id)
    if chosen is None:
        return PositionsView(found, None, Paged([], 0, limit, offset), None, None, {})
    status, due_at = session.connection().execute(_CAMPAIGN, {"oid": chosen}).one()
    campaign = Campaign(chosen, str(getattr(status, "value", status)), due_at)
    everyone = reports.position_lines(session, chosen)
    languages: dict[str, int] = {}
    for line in everyone:
        languages[line.state.language] = languages.get(line.state.language, 0) + 1
    lines = reports.filter_positions(
        everyone, language=language, state=state, verdict=verdict, search=search
    )
    summary = reports.summaries(session, [chosen]).get(chosen) or positions.Summary(
        0, 0, 0, 0, {verdict: 0 for verdict in positions.VERDICTS}
    )
    return PositionsView(
        campaigns=found,
        campaign=campaign,
        lines=_slice(lines, limit, offset),
        summary=summary,
        chart=submissions_chart(reports.submissions_by_day(session, chosen)),
        languages=dict(sorted(languages.items())),
    )


class PositionRow(NamedTuple):
    """A Member State's line as the positions page prints it."""

    iso3: str
    name: str
    language: str
    invited: str
    reminded: str
    received: str
    attachment: str
    verdict: str | None
    verdict_text: str


def position_rows(lines: Sequence[reports.PositionLine]) -> list[PositionRow]:
    """The page's lines with their dates in the secretariat's zone, made in one pass."""
    day = reports.local_formatter("YYYY-MM-DD")
    rows = []
    for line in lines:
        state, row = line.state, line.submission
        verdict = line.verdict
        rows.append(
            PositionRow(
                iso3=state.iso3,
                name=state.name_en,
                language=state.language,
                invited=(day(row.invited_at) if row else "") or "—",
                reminded=(day(row.reminded_at) if row else "") or "—",
                received=day(row.received_at) if row else "",
                attachment=(row.attachment_name or "") if row else "",
                verdict=row.verdict if row else None,
                verdict_text=verdict.replace("_", " ") or "—",
            )
        )
    return rows


# --- calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    open: list[reports.ObligationLine]
    met: list[reports.ObligationLine]


def deadlines(session: Session, *, met_limit: int = 20) -> Deadlines:
    """Open deadlines, soonest (most overdue) first, and the latest ones met."""
    lines = [line for line in reports.obligation_lines(session) if line.obligation.due_at]
    closed = {ObligationStatus.done, ObligationStatus.cancelled}
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    open_lines = sorted(
        (line for line in lines if line.obligation.status not in closed),
        key=lambda line: line.obligation.due_at or far,
    )
    met = sorted(
        (line for line in lines if line.obligation.status == ObligationStatus.done),
        key=lambda line: line.obligation.due_at or far,
        reverse=True,
    )[:met_limit]
    return Deadlines(open=open_lines, met=met)


def days_to(value: dt.datetime | None) -> int | None:
    """Calendar days from today (secretariat's zone) to a deadline; negative when past."""
    return positions.days_left(value, at=calendar.now()) if value else None
