"""The progress report for the Council: where every obligation stands, per resolution.

:func:`build_report` reads it from the register (:mod:`operative.reporting.read_model`, plus
each obligation's decided approvals and records); :func:`report_markdown` and
:func:`report_html` (a standalone, printable page from ``operative/templates/report.html``)
write it out. The report is in English, with times in the configured zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from babel.support import NullTranslations
from sqlmodel import Session, col, func, select

from operative import i18n
from operative.core import clock
from operative.core.settings import get_settings
from operative.errors import NotFound
from operative.i18n import local_time
from operative.models import Approval, ObligationStatus, Record, Resolution
from operative.playbooks import Playbook
from operative.playbooks import national_positions as positions
from operative.register.obligations import load_playbooks
from operative.reporting.read_model import ObligationLine, obligation_lines

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_DECISIONS = ("approved", "rejected")


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


def _decided(session: Session, ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """How many approvals of each obligation were given each decision."""
    decided: dict[tuple[int, str], int] = {}
    for obligation_id, decision, count in session.exec(
        select(Approval.obligation_id, Approval.decision, func.count())
        .where(col(Approval.obligation_id).in_(ids), col(Approval.decision).is_not(None))
        .group_by(col(Approval.obligation_id), col(Approval.decision))
    ):
        decided[(obligation_id, str(decision))] = int(count)
    return decided


def _records(session: Session, ids: Sequence[int]) -> dict[int, list[Record]]:
    """Each obligation's records, oldest first."""
    facts: dict[int, list[Record]] = {}
    for record in session.exec(
        select(Record)
        .where(col(Record.obligation_id).in_(ids))
        .order_by(col(Record.occurred_at), col(Record.id))
    ):
        facts.setdefault(record.obligation_id, []).append(record)
    return facts


def build_report(session: Session, *, resolution_id: int | None = None) -> ProgressReport:
    """The progress report for one resolution (``NotFound`` if unknown) or for all."""
    if resolution_id is not None and session.get(Resolution, resolution_id) is None:
        raise NotFound(f"no resolution with id {resolution_id}")
    titles = {name: info.title for name, info in load_playbooks().playbooks.items()}
    lines = obligation_lines(session, resolution_id=resolution_id)
    ids = [line.obligation.id for line in lines if line.obligation.id is not None]
    decided, facts = _decided(session, ids), _records(session, ids)
    grouped: dict[int, ResolutionReport] = {}
    for line in lines:
        entry = grouped.setdefault(
            line.resolution.id or 0, ResolutionReport(resolution=line.resolution, items=[])
        )
        entry.items.append(_item(line, titles, decided, facts))
    for entry in grouped.values():
        entry.positions = _campaign(session, entry.items)
    return ProgressReport(as_of=clock.now(), resolutions=list(grouped.values()))


def _campaign(session: Session, items: Sequence[ReportItem]) -> positions.Summary | None:
    """The counts of the first national-positions campaign among ``items``, if there is one."""
    for item in items:
        if item.line.obligation.playbook == Playbook.national_positions:
            oid = item.line.obligation.id or 0
            return item.line.counts.positions or positions.summarise(session, oid)
    return None


def _item(
    line: ObligationLine,
    titles: dict[str, str],
    decided: dict[tuple[int, str], int],
    facts: dict[int, list[Record]],
) -> ReportItem:
    oid, playbook = line.obligation.id or 0, line.obligation.playbook
    return ReportItem(
        line=line,
        title=titles.get(playbook, playbook),
        approvals={d: decided.get((oid, d), 0) for d in _DECISIONS},
        records=facts.get(oid, []),
    )


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
        out += _resolution_markdown(entry)
    return "\n".join(out).rstrip() + "\n"


def _resolution_markdown(entry: ResolutionReport) -> list[str]:
    r = entry.resolution
    adopted = f", adopted {r.adopted_on:%d %B %Y}" if r.adopted_on else ""
    out = [f"## {r.body} Resolution No. {r.number}{adopted}", "", f"*{r.title}*", ""]
    out += ["| OP | Work | Status | Due | Next action |", "|---|---|---|---|---|"]
    for item in entry.items:
        line = item.line
        due = local_time(line.obligation.due_at, "YYYY-MM-DD") or "—"
        out.append(
            f"| {line.paragraph.num} | {_md(item.title)} | {_status_words(line)} | {due} "
            f"| {_md(line.next_action)} |"
        )
    out.append("")
    for item in entry.items:
        out += _item_markdown(item)
    if entry.positions is not None:
        out += _positions_markdown(entry.positions)
    return out


def _item_markdown(item: ReportItem) -> list[str]:
    line = item.line
    out = [
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
    return out


def _positions_markdown(s: positions.Summary) -> list[str]:
    return [
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


def shorten(text: str, limit: int = 240) -> str:
    """A record's text on one line, cut at a word boundary after ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # The report is written in English: no catalog to install.
    return i18n.environment(TEMPLATES_DIR, language="en", catalog=NullTranslations(), html=True)


def report_html(report: ProgressReport) -> str:
    """The progress report as a standalone, printable HTML page."""
    return (
        _environment()
        .get_template("report.html")
        .render(
            report=report,
            zone=get_settings().timezone,
            local_time=local_time,
            status_words=_status_words,
            verdict_labels=positions.VERDICT_LABELS,
            verdicts=positions.VERDICTS,
            shorten=shorten,
        )
    )
