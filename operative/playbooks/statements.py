"""Texts operative writes in its own words: IOM's statement on its lead-agency role, the note
that circulates it (en, fr, es), the engagement report, and the short notices of the
engagement playbook (the tracking playbook's reminders are :mod:`operative.reminders`').

Each text is built from the register (the resolution, the paragraph, the dates) and nothing
else, so the same facts always give the same text: a re-run drafts exactly what was drafted.
The statement itself is written in English; the note circulating it is in the Member State's
language and says that the statement follows in English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from babel.dates import format_date

from operative import i18n
from operative.i18n import LANGUAGES, N_
from operative.register.records import Engagement, Gap
from operative.register.runs import Brief

# Where a resolution names the meeting its paragraph is about; the phrase runs to the next
# punctuation ("the High-level Dialogue in 2013").
_EVENT = re.compile(r"\bHigh-level (?:Dialogue|Meeting|Event)\b[^,;:.]*", re.IGNORECASE)
_TRAILING = re.compile(r"\s*[;,:]\s*(?:and|et|y)?\s*$")


@dataclass(frozen=True)
class Text:
    """A drafted text: its title and body."""

    title: str
    body: str


@dataclass(frozen=True)
class Source:
    """What a text draws on: the resolution, the paragraph, and the resolution's key dates."""

    body: str
    number: str
    paragraph: str
    paragraph_text: str
    adopted_on: dt.date | None = None
    key_dates: Mapping[str, dt.date] = field(default_factory=dict)

    @classmethod
    def of(cls, brief: Brief) -> Source:
        """From the brief of an obligation that a playbook run starts with."""
        return cls(
            body=brief.resolution.body,
            number=brief.resolution.number,
            paragraph=brief.paragraph,
            paragraph_text=brief.paragraph_text,
            adopted_on=brief.resolution.adopted_on,
            key_dates=brief.resolution.key_dates,
        )

    @property
    def reference(self) -> str:
        """How the texts cite the paragraph: "paragraph 3 of resolution No. 1244"."""
        return f"paragraph {self.paragraph} of resolution No. {self.number}"


def english_date(day: dt.date) -> str:
    """A date as UN documents write it in English: "3 October 2013"."""
    return format_date(day, "d MMMM y", locale="en_GB")


def english_period(start: dt.date, end: dt.date | None) -> str:
    """Two dates as one span: "3–4 October 2013", "30 September – 1 October 2013"."""
    if end is None or end == start:
        return english_date(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{english_date(end)}"
    if start.year == end.year:
        return f"{format_date(start, 'd MMMM', locale='en_GB')} – {english_date(end)}"
    return f"{english_date(start)} – {english_date(end)}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _quoted(paragraph_text: str) -> str:
    """The paragraph as a quotation that ends a sentence."""
    text = " ".join(paragraph_text.split())
    return _TRAILING.sub("", text).rstrip(".") + "."


def event(source: Source, *, dated: bool = True) -> str:
    """The meeting the paragraph is about, as the paragraph names it, with its dates if known."""
    found = _EVENT.search(source.paragraph_text)
    name = f"the {found.group(0).strip()}" if found else "the meeting the resolution refers to"
    start = source.key_dates.get("hld")
    if start is None or not dated:
        return name
    return f"{name} ({english_period(start, source.key_dates.get('hld_end'))})"


def affirmation(source: Source) -> str:
    """The affirmation a declaratory paragraph makes, as a record of the register."""
    on = f", adopted on {english_date(source.adopted_on)}" if source.adopted_on else ""
    return (
        f"The {source.body} affirmed, in {source.reference}{on}: “{_quoted(source.paragraph_text)}”"
    )


def lead_agency_statement(source: Source) -> Text:
    """IOM's statement on its role as the global lead agency on migration, as an input to the
    meeting the affirming paragraph names."""
    meeting, named = event(source), event(source, dated=False)
    adopted = (
        f"On {english_date(source.adopted_on)}, the {source.body}"
        if source.adopted_on
        else f"The {source.body}"
    )
    title = (
        "Statement of the International Organization for Migration on its role as the global "
        f"lead agency on migration: an input to {meeting}"
    )
    paragraphs = [
        f"1. {adopted} adopted resolution No. {source.number}. Paragraph {source.paragraph} of "
        f"that resolution reads:",
        f"“{_quoted(source.paragraph_text)}”",
        "2. IOM welcomes this affirmation by its Member States. It places at the service of "
        f"{named} the knowledge, expertise and experience it has gained in all aspects of "
        "migration, through its programmes and operations in countries of origin, transit and "
        "destination, and through the dialogue among States that it convenes.",
        "3. IOM will contribute to the preparations and to the proceedings in partnership with "
        "States, the organizations of the United Nations system, other international "
        "organizations and civil society, and with migrants themselves, within its mandate "
        "under its Constitution.",
        "4. IOM will keep its Member States informed of its contribution, and stands ready to "
        "assist them in giving effect to the outcome.",
    ]
    return Text(title=title, body="\n\n".join([title, *paragraphs]))


# The note circulating the statement, in English; its French and Spanish versions are in the
# catalogs (:mod:`operative.i18n`).
_NOTE_TOPIC = N_("IOM's statement on its role as the global lead agency on migration")
_NOTE_SUMMARY = N_(
    "The Office of the Director General has approved the statement of the International "
    "Organization for Migration on its role as the global lead agency on migration, prepared "
    "as an input pursuant to paragraph %(paragraph)s of Council resolution No. %(number)s. "
    "The text of the statement follows."
)


def circulation_notes(source: Source, statement: str) -> dict[str, dict[str, str]]:
    """The topic and summary of the briefing that circulates the statement, per language.

    The statement follows the summary in English in every language, and the note says so.
    """
    values = {"paragraph": source.paragraph, "number": source.number}
    return {
        language: {
            "topic": i18n.gettext(language, _NOTE_TOPIC),
            "summary": f"{i18n.gettext(language, _NOTE_SUMMARY) % values}\n\n{statement}",
        }
        for language in LANGUAGES
    }


def engagement_topic(source: Source) -> str:
    """What the engagement notices are about."""
    return f"attention to the perspectives of migrants ({source.reference})"


def lapse_alert(source: Source, gap: Gap, *, weeks: int, still_open: bool) -> dict[str, str]:
    """The topic and summary of an alert to the focal point that attention has lapsed."""
    if still_open:
        stretch = (
            f"No engagement activity in which migrants themselves spoke has been recorded since "
            f"{english_date(gap.start)}: {_days(gap.days)} as of {english_date(gap.end)}."
        )
    else:
        stretch = (
            f"No engagement activity in which migrants themselves spoke was recorded between "
            f"{english_date(gap.start)} and {english_date(gap.end)} ({_days(gap.days)})."
        )
    return {
        "topic": engagement_topic(source),
        "summary": (
            f"{stretch} The cadence set for {source.reference} is at least one such activity "
            f"every {weeks} weeks. Please record any activity that has taken place, with its "
            "evidence, or plan the next one."
        ),
    }


def engagement_report(source: Source, record: Engagement) -> Text:
    """The closing report on the engagement activities, as Markdown."""
    share = round(100 * record.share_with_migrants)
    title = f"Sustained attention to the perspectives of migrants: report on {source.reference}"
    lines = [
        f"# {title}",
        "",
        f"Period: {english_date(record.since)} to {english_date(record.until)}. Cadence checked: "
        f"at least one activity in which migrants themselves spoke every {record.weeks} weeks.",
        "",
        f"- Activities recorded: {len(record.activities)}",
        f"- Activities in which migrants themselves spoke: {record.with_migrants} ({share}%)",
        f"- Lapses of more than {record.weeks} weeks: {len(record.lapses)}",
        "",
        "## Activities",
        "",
    ]
    if record.activities:
        lines += ["| Date | Kind | Title | Migrants spoke | Evidence |", "|---|---|---|---|---|"]
        lines += [
            f"| {a.occurred_on.isoformat()} | {a.kind.replace('_', ' ')} | "
            f"{a.title.replace('|', '/')} | {'yes' if a.migrants_spoke else 'no'} | "
            f"{a.evidence_url or '—'} |"
            for a in record.activities
        ]
    else:
        lines.append("No activity was recorded.")
    lines += ["", "## Lapses", ""]
    if record.lapses:
        lines += ["| From | To | Days |", "|---|---|---|"]
        lines += [f"| {g.start} | {g.end} | {g.days} |" for g in record.lapses]
    else:
        lines.append("Attention did not lapse: the cadence was kept throughout the period.")
    return Text(title=title, body="\n".join(lines) + "\n")
