"""The progress report for the Council, and the register as spreadsheets.

One reading of the register serves the web pages, the API, the exports and ``operative
report``: :func:`obligation_rows` (one row per operative paragraph), :func:`position_rows` (one
row per Member State of a national-positions campaign), and :func:`build_report`, rendered as
Markdown (:func:`report_markdown`) or as a printable HTML page (:func:`report_html`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pendulum
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from operative.core import clock as calendar
from operative.core.settings import get_settings
from operative.models import (
    Approval,
    Delivery,
    DeliveryStatus,
    MemberState,
    Message,
    Obligation,
    ObligationStatus,
    Paragraph,
    Record,
    Resolution,
    Submission,
)
from operative.playbooks import national_positions as positions
from operative.register.obligations import is_overdue, load_playbooks

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
# A spreadsheet opens a cell starting with one of these as a formula: a text from a Member
# State must never run as one, so such a value is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# The formats pages use most, as strftime patterns: pendulum's formatter costs ~60 us a
# call, which a page of 175 Member States times three dates turns into tens of ms.
_STRFTIME = {"YYYY-MM-DD HH:mm": "%Y-%m-%d %H:%M", "YYYY-MM-DD": "%Y-%m-%d"}


def _aware(value: dt.datetime) -> dt.datetime:
    # Stored times are UTC; a naive one (from a raw query) is read as UTC, as pendulum does.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def local_time(value: dt.datetime | None, fmt: str = "YYYY-MM-DD HH:mm") -> str:
    """A stored UTC time in the configured zone (Geneva by default); empty for none."""
    if value is None:
        return ""
    zone = get_settings().timezone
    pattern = _STRFTIME.get(fmt)
    if pattern is not None:
        return _aware(value).astimezone(ZoneInfo(zone)).strftime(pattern)
    return str(pendulum.instance(value).in_timezone(zone).format(fmt))


def local_formatter(fmt: str = "YYYY-MM-DD HH:mm") -> Callable[[dt.datetime | None], str]:
    """:func:`local_time` with the zone and pattern looked up once, for a page of rows."""
    pattern = _STRFTIME.get(fmt)
    if pattern is None:
        return lambda value: local_time(value, fmt)
    zone = ZoneInfo(get_settings().timezone)
    utc = dt.UTC
    # Rows of one page share many times (a campaign invites every state at once).
    made: dict[dt.datetime, str] = {}

    def local(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        text = made.get(value)
        if text is None:
            aware = value if value.tzinfo is not None else value.replace(tzinfo=utc)
            text = made[value] = aware.astimezone(zone).strftime(pattern)
        return text

    return local


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
    # The counts of its national positions, when it has invited any.
    positions: positions.Summary | None = None


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
            positions=campaigns.get(oid),
        )
        for oid in obligation_ids
    }


def next_action(status: str, playbook: str, counts: Counts) -> str:
    """What has to happen next for an obligation, in a few words for the secretariat."""
    state = status if isinstance(status, ObligationStatus) else ObligationStatus(status)
    if state is ObligationStatus.cancelled:
        return "None: cancelled"
    if counts.pending_approvals:
        first = counts.pending_approvals[0]
        return (
            f"Decision by {first.role_asked.replace('_', ' ')} ({first.step}, approval {first.id})"
        )
    if counts.failed:
        plural = "delivery" if counts.failed == 1 else "deliveries"
        return f"Retry {counts.failed} failed {plural}"
    if state is ObligationStatus.done:
        return "None: done"
    if state is ObligationStatus.planned:
        return f"Start the {playbook} flow"
    if playbook == "national_positions":
        summary = counts.positions or positions.Summary(0, 0, 0, 0, {})
        if summary.unreviewed:
            return f"Review {summary.unreviewed} received national positions"
        return f"Collect national positions ({summary.received} of {summary.invited} received)"
    if state is ObligationStatus.awaiting_approval:
        return "Run the flow again: the decision is in the register"
    return f"Run the {playbook} flow again to carry on"


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
    now = calendar.now()
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
                next_action=next_action(obligation.status, obligation.playbook, tally),
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
    """``ValueError`` for a stage or verdict that does not exist."""
    if state is not None and state not in POSITION_STATES:
        raise ValueError(f"state {state!r}: expected one of {', '.join(POSITION_STATES)}")
    if verdict is not None and verdict not in positions.VERDICTS:
        raise ValueError(f"verdict {verdict!r}: expected one of {', '.join(positions.VERDICTS)}")


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
    kept = []
    for line in lines:
        member, row = line.state, line.submission
        if language and member.language != language:
            continue
        if needle and not any(
            needle in name.casefold()
            for name in (member.iso3, member.name_en, member.name_fr, member.name_es)
        ):
            continue
        if state and not _at_stage(row, state):
            continue
        if verdict and (row is None or row.verdict != verdict):
            continue
        kept.append(line)
    return kept


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
            day = _aware(received).astimezone(zone).date()
            days[day] = days.get(day, 0) + 1
    return sorted(days.items())


# --- files ------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as UTF-8 CSV with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name, "")) for name in columns])
    return buffer.getvalue().encode("utf-8")


def to_xlsx(title: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as an Excel workbook of one sheet, header in bold and frozen."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_cell(row.get(name, "")) for name in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the progress report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportItem:
    """One operative paragraph in the report."""

    line: ObligationLine
    title: str
    approvals: dict[str, int]
    records: list[Record]


@dataclass
class ResolutionReport:
    resolution: Resolution
    items: list[ReportItem]
    positions: positions.Summary | None = None


@dataclass(frozen=True)
class ProgressReport:
    """Where every obligation of the register stands, as of ``as_of``."""

    as_of: dt.datetime
    resolutions: list[ResolutionReport]

    @property
    def as_of_local(self) -> str:
        return local_time(self.as_of, "D MMMM YYYY, HH:mm")


def build_report(session: Session, *, resolution_id: int | None = None) -> ProgressReport:
    """The progress report for one resolution (``LookupError`` if unknown) or for all."""
    if resolution_id is not None and session.get(Resolution, resolution_id) is None:
        raise LookupError(f"no resolution with id {resolution_id}")
    titles = {name: info.title for name, info in load_playbooks().playbooks.items()}
    lines = obligation_lines(session, resolution_id=resolution_id)
    ids = [line.obligation.id for line in lines if line.obligation.id is not None]
    decided: dict[tuple[int, str], int] = {}
    for obligation_id, decision, count in session.exec(
        select(Approval.obligation_id, Approval.decision, func.count())
        .where(col(Approval.obligation_id).in_(ids), col(Approval.decision).is_not(None))
        .group_by(col(Approval.obligation_id), col(Approval.decision))
    ):
        decided[(obligation_id, str(decision))] = int(count)
    facts: dict[int, list[Record]] = {}
    for record in session.exec(
        select(Record)
        .where(col(Record.obligation_id).in_(ids))
        .order_by(col(Record.occurred_at), col(Record.id))
    ):
        facts.setdefault(record.obligation_id, []).append(record)
    grouped: dict[int, ResolutionReport] = {}
    for line in lines:
        oid = line.obligation.id or 0
        resolution = line.resolution
        entry = grouped.setdefault(
            resolution.id or 0, ResolutionReport(resolution=resolution, items=[])
        )
        entry.items.append(
            ReportItem(
                line=line,
                title=titles.get(line.obligation.playbook, line.obligation.playbook),
                approvals={d: decided.get((oid, d), 0) for d in ("approved", "rejected")},
                records=facts.get(oid, []),
            )
        )
        if line.obligation.playbook == "national_positions" and entry.positions is None:
            entry.positions = line.counts.positions or positions.summarise(session, oid)
    return ProgressReport(as_of=calendar.now(), resolutions=list(grouped.values()))


def _status_words(line: ObligationLine) -> str:
    words = f"{ObligationStatus(line.obligation.status).value.replace('_', ' ')}"
    words += f", {line.obligation.progress}%"
    return words + (", overdue" if line.overdue else "")


def report_markdown(report: ProgressReport) -> str:
    """The progress report as Markdown."""
    out = [
        "# Progress report to the Council",
        "",
        f"As of {report.as_of_local} ({get_settings().timezone}).",
        "",
    ]
    if not report.resolutions:
        out += ["No resolution is registered.", ""]
    for entry in report.resolutions:
        r = entry.resolution
        adopted = f", adopted {r.adopted_on:%d %B %Y}" if r.adopted_on else ""
        out += [f"## {r.body} Resolution No. {r.number}{adopted}", "", f"*{r.title}*", ""]
        out += [
            "| OP | Work | Status | Due | Next action |",
            "|---|---|---|---|---|",
        ]
        for item in entry.items:
            line = item.line
            due = local_time(line.obligation.due_at, "YYYY-MM-DD") or "—"
            out.append(
                f"| {line.paragraph.num} | {_md(item.title)} | {_status_words(line)} | {due} "
                f"| {_md(line.next_action)} |"
            )
        out.append("")
        for item in entry.items:
            line = item.line
            out += [
                f"### OP {line.paragraph.num}: {item.title}",
                "",
                f"{line.paragraph.verb_text or ''} {line.paragraph.addressee or ''}".strip()
                + f" — {_status_words(line)}.",
                "",
                f"- Deliveries: {line.counts.sent} sent, {line.counts.failed} failed.",
                f"- Approvals: {item.approvals['approved']} approved, "
                f"{item.approvals['rejected']} rejected, "
                f"{len(line.counts.pending_approvals)} waiting.",
            ]
            out += [
                f"- {record.kind.capitalize()} ({local_time(record.occurred_at, 'YYYY-MM-DD')}): "
                f"{_md(shorten(record.text))}"
                for record in item.records
            ]
            out.append("")
        if entry.positions is not None:
            s = entry.positions
            out += [
                "### National positions",
                "",
                f"{s.invited} Member States invited, {s.reminded} reminded, {s.received} "
                f"positions received, {s.reviewed} reviewed.",
                "",
                "| Verdict | Positions |",
                "|---|---:|",
                *(
                    f"| {positions.VERDICT_LABELS[v]} | {s.verdicts.get(v, 0)} |"
                    for v in positions.VERDICTS
                ),
                "",
            ]
    return "\n".join(out).rstrip() + "\n"


def shorten(text: str, limit: int = 240) -> str:
    """A record's text on one line, cut at a word boundary after ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def report_html(report: ProgressReport) -> str:
    """The progress report as a standalone, printable HTML page."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("operative", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html")
    return template.render(
        report=report,
        zone=get_settings().timezone,
        local_time=local_time,
        status_words=_status_words,
        verdict_labels=positions.VERDICT_LABELS,
        verdicts=positions.VERDICTS,
        shorten=shorten,
    )
