"""Briefings to Member States (1244 OP1): the monthly cycles, and what each briefing says.

A briefing reports every obligation of a resolution (paragraph, playbook title, status,
progress, due date) in English, French and Spanish. The translations are written in the
``operative`` catalogs (:mod:`operative.i18n`), not machine translation: a playbook added to
``config/playbooks.yaml`` whose title the catalogs lack is shown under its English title in
all three versions.

Cycle *k* is the month that starts *k* whole months after the day of adoption (midnight in
the secretariat's zone); the last cycle is the one running just before the end date (the
resolution's ``hld`` key date, else the obligation's deadline).

One document holds the three language versions of a cycle's briefing, under one heading per
language, so the Director General's office approves them together, and what goes out to
each state is read back from the approved document (:func:`read_document`), never
recompiled after the approval.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pendulum
from babel.dates import format_date
from babel.numbers import format_percent
from sqlmodel import Session, col, select

from operative import i18n
from operative.errors import Invalid
from operative.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from operative.models import (
    Approval,
    Contact,
    MemberState,
    Obligation,
    ObligationStatus,
    Paragraph,
    Resolution,
    StepRecord,
)
from operative.register.obligations import is_overdue, load_playbooks

APPROVAL_STEP = "briefing"
SENT_STEP = "briefing-sent"

# A briefing's words, in English; their French and Spanish versions are in the catalogs, as
# are those of the playbook titles of config/playbooks.yaml.
TOPIC = N_("the implementation of resolution No. %(number)s")
LINE = N_("Paragraph %(paragraph)s – %(title)s: %(status)s (%(percent)s)")
DUE = N_("due %(date)s")
OVERDUE = N_("overdue")
STATUS = {
    ObligationStatus.planned: N_("not started"),
    ObligationStatus.in_progress: N_("in progress"),
    ObligationStatus.awaiting_approval: N_("awaiting approval"),
    ObligationStatus.done: N_("completed"),
    ObligationStatus.cancelled: N_("cancelled"),
}


class BriefingError(Invalid):
    """A briefing that cannot be scheduled or read back."""


def topic(number: str, language: str) -> str:
    """What a briefing is about, as the briefing template's ``topic`` in ``language``."""
    return i18n.gettext(language, TOPIC) % {"number": number}


@dataclass(frozen=True)
class Schedule:
    """The monthly cycles from adoption to the end date."""

    start: pendulum.DateTime
    end: pendulum.DateTime

    def cycle_start(self, cycle: int) -> pendulum.DateTime:
        """The first instant of cycle ``cycle``."""
        return self.start.add(months=cycle)

    def cycle_at(self, at: dt.datetime) -> int:
        """The cycle running at ``at`` (-1 before adoption)."""
        moment = pendulum.instance(at).in_timezone(self.start.timezone_name or "UTC")
        if moment < self.start:
            return -1
        cycle = (moment.year - self.start.year) * 12 + moment.month - self.start.month
        while self.cycle_start(cycle) > moment:
            cycle -= 1
        return cycle

    @property
    def last_cycle(self) -> int:
        """The cycle running just before the end date: the last briefing to send."""
        return self.cycle_at(self.end - dt.timedelta(microseconds=1))

    def current(self, at: dt.datetime) -> int:
        """The cycle to handle at ``at``: the running one, or the last once the end is past."""
        return min(self.cycle_at(at), self.last_cycle)

    def progress(self, sent_cycle: int) -> int:
        """How far the obligation is once cycle ``sent_cycle`` went out (100 is for done)."""
        return max(0, min(95, 100 * (sent_cycle + 1) // (self.last_cycle + 1)))

    def ended(self, at: dt.datetime) -> bool:
        """Whether the end date (the Dialogue) has come."""
        return at >= self.end


def schedule(
    adopted_on: dt.date | None,
    *,
    end: dt.date | dt.datetime | None,
    due_at: dt.datetime | None,
    tz: str,
) -> Schedule:
    """The cycles of a briefing obligation: from adoption to ``end`` (else ``due_at``)."""
    if adopted_on is None:
        raise BriefingError("briefings count months from adoption: the adoption date is unknown")
    start = pendulum.datetime(adopted_on.year, adopted_on.month, adopted_on.day, tz=tz)
    if isinstance(end, dt.datetime):
        stop = pendulum.instance(end)
    elif isinstance(end, dt.date):
        stop = pendulum.datetime(end.year, end.month, end.day, tz=tz)
    elif due_at is not None:
        stop = pendulum.instance(due_at)
    else:
        raise BriefingError("briefings need an end date: a 'hld' key date or a deadline")
    if stop <= start:
        raise BriefingError(f"the end date {stop.to_date_string()} is not after the adoption")
    return Schedule(start=start, end=stop.in_timezone(tz))


@dataclass(frozen=True)
class Item:
    """One obligation as a briefing reports it."""

    paragraph: str
    playbook: str
    title: str
    status: ObligationStatus
    progress: int
    due_at: dt.datetime | None
    overdue: bool


@dataclass(frozen=True)
class Briefing:
    """The state of a resolution's obligations at one moment, in every language."""

    number: str
    cycle: int
    as_of: dt.datetime
    items: tuple[Item, ...]

    def topic(self, language: str) -> str:
        return topic(self.number, language)

    def text(self, language: str, *, tz: str) -> str:
        """The list of obligations in ``language``, one line each."""
        locale = i18n.FORMAT_LOCALES[language]
        lines = []
        for item in self.items:
            line = "• " + i18n.gettext(language, LINE) % {
                "paragraph": item.paragraph,
                "title": i18n.gettext(language, item.title),
                "status": i18n.gettext(language, STATUS[item.status]),
                "percent": format_percent(item.progress / 100, locale=locale),
            }
            if item.due_at is not None:
                day = pendulum.instance(item.due_at).in_timezone(tz).date()
                due = format_date(day, "long", locale=locale)
                line += ", " + i18n.gettext(language, DUE) % {"date": due}
                if item.overdue:
                    line += f" ({i18n.gettext(language, OVERDUE)})"
            lines.append(line)
        return "\n".join(lines)


def compile_briefing(
    session: Session, resolution_id: int, *, cycle: int, as_of: dt.datetime
) -> Briefing:
    """Every current obligation of the resolution, in paragraph order, as of ``as_of``."""
    resolution = session.get(Resolution, resolution_id)
    if resolution is None:
        raise BriefingError(f"no resolution {resolution_id}")
    titles = {name: info.title for name, info in load_playbooks().playbooks.items()}
    rows = session.exec(
        select(Obligation, Paragraph)
        .join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
        .where(Paragraph.resolution_id == resolution_id, col(Paragraph.withdrawn_at).is_(None))
        .order_by(col(Paragraph.position))
    ).all()
    items = tuple(
        Item(
            paragraph=paragraph.num,
            playbook=obligation.playbook,
            title=titles.get(obligation.playbook, obligation.playbook),
            status=ObligationStatus(obligation.status),
            progress=obligation.progress,
            due_at=obligation.due_at,
            overdue=is_overdue(obligation, at=as_of),
        )
        for obligation, paragraph in rows
    )
    return Briefing(number=resolution.number, cycle=cycle, as_of=as_of, items=items)


_AS_OF = re.compile(r"^As of: (\S+)$", re.MULTILINE)
_ITEMS = re.compile(r"^Items: (\d+)$", re.MULTILINE)
_HEADING = re.compile(r"^## .+ \((en|fr|es)\)$", re.MULTILINE)


def document(briefing: Briefing, *, tz: str, note: str | None = None) -> tuple[str, str]:
    """Title and body of the document the Director General's office approves."""
    title = (
        f"Briefing on {briefing.topic('en')} – cycle {briefing.cycle}, "
        f"as of {pendulum.instance(briefing.as_of).in_timezone(tz).to_date_string()}"
    )
    head = [
        title,
        f"As of: {pendulum.instance(briefing.as_of).in_timezone('UTC').isoformat()}",
        f"Items: {len(briefing.items)}",
    ]
    if note:
        head.append(f"Revised after the comment of the Director General's office: {note}")
    sections = [
        f"## {LANGUAGE_NAMES[language]} ({language})\n\n{briefing.text(language, tz=tz)}"
        for language in LANGUAGES
    ]
    return title, "\n".join(head) + "\n\n" + "\n\n".join(sections) + "\n"


@dataclass(frozen=True)
class Approved:
    """What an approved briefing document says, ready to send."""

    as_of: dt.datetime
    items: int
    texts: dict[str, str]


def read_document(body: str) -> Approved:
    """The date, item count and language versions of a briefing :func:`document`."""
    as_of, items = _AS_OF.search(body), _ITEMS.search(body)
    headings = list(_HEADING.finditer(body))
    if as_of is None or items is None or not headings:
        raise BriefingError("not a briefing document")
    texts = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(body)
        texts[heading.group(1)] = body[heading.end() : end].strip()
    missing = set(LANGUAGES) - set(texts)
    if missing:
        raise BriefingError(f"the briefing lacks its {', '.join(sorted(missing))} version")
    return Approved(
        as_of=dt.datetime.fromisoformat(as_of.group(1)), items=int(items.group(1)), texts=texts
    )


def state_languages(session: Session) -> dict[str, str]:
    """The language each active Member State is written to in (its contact's, else its own)."""
    contacts = {
        contact.member_state_iso3: contact.language
        for contact in session.exec(
            select(Contact).where(
                col(Contact.active),
                col(Contact.member_state_iso3).is_not(None),
                col(Contact.role).is_(None),
            )
        )
    }
    languages: dict[str, str] = {}
    for state in session.exec(select(MemberState).where(col(MemberState.active))):
        language = contacts.get(state.iso3) or state.language
        languages[state.iso3] = language if language in LANGUAGES else "en"
    return languages


# Complexity: one row per cycle joins three reads (approvals, sends, the plan); each branch is a
# column's fallback, and the row reads best whole.
def cycle_rows(session: Session, obligation_id: int, plan: Schedule) -> list[dict[str, Any]]:
    """One row per cycle worked on: who was asked to approve, what they said, who was sent it."""
    approvals = session.exec(
        select(Approval)
        .where(Approval.obligation_id == obligation_id, Approval.step == APPROVAL_STEP)
        .order_by(col(Approval.cycle), col(Approval.attempt))
    ).all()
    sent = {
        record.cycle: record.result
        for record in session.exec(
            select(StepRecord).where(
                StepRecord.obligation_id == obligation_id, StepRecord.step == SENT_STEP
            )
        )
    }
    cycles = sorted({approval.cycle for approval in approvals} | set(sent))
    rows = []
    for cycle in cycles:
        asked = [approval for approval in approvals if approval.cycle == cycle]
        answers = [
            f"draft {a.attempt}: {a.decision} by {a.decided_by}"
            + (f" ({a.reason})" if a.reason else "")
            if a.decision
            else f"draft {a.attempt}: pending"
            for a in asked
        ]
        outcome = sent.get(cycle)
        rows.append(
            {
                "cycle": cycle,
                "from": plan.cycle_start(cycle).to_date_string(),
                "asked": asked[-1].role_asked if asked else "",
                "answered": "; ".join(answers),
                "sent": (
                    f"{outcome.get('sent', 0)} of {outcome.get('deliveries', 0)} deliveries"
                    if outcome is not None
                    else ""
                ),
            }
        )
    return rows


def cycles_markdown(rows: list[dict[str, Any]], plan: Schedule) -> str:
    """The briefing cycles in a few lines of Markdown, for the run's page and reports."""
    sent = sum(1 for row in rows if row["sent"])
    lines = [
        "# Briefings to Member States",
        "",
        f"Monthly cycles from {plan.start.to_date_string()} to {plan.end.to_date_string()}: "
        f"{plan.last_cycle + 1} in all, {sent} briefing(s) sent.",
        "",
        "| cycle | from | approval | sent |",
        "|---:|---|---|---|",
        *(f"| {r['cycle']} | {r['from']} | {r['answered']} | {r['sent']} |" for r in rows),
    ]
    return "\n".join(lines) + "\n"
