"""How the pages show what :mod:`operative.web.queries` read: the strings of their cells, links,
page numbers and the positions chart.

Every string a page prints is made here, before the page renders and in one pass over its rows:
a template's filter or macro per cell, times a page of rows, costs more than the queries. Rows
are tuples, not frozen dataclasses, because they are cheaper to build. Nothing here reads the
database.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from operative import i18n
from operative.core import clock
from operative.models import Event, Obligation
from operative.playbooks import national_positions as positions
from operative.register.obligations import is_overdue
from operative.reporting import read_model
from operative.web.queries import Overview, Paged, ResolutionRef

# The overview shows this much of a paragraph's opening words (queries reads a little more).
EXCERPT_SHOWN = 160
# What a cell shows for a date or a verdict there is none of.
NO_VALUE = "—"


def truncate(text: str, length: int, *, leeway: int = 5, end: str = "...") -> str:
    """Jinja's ``truncate`` filter (its defaults): a text at most ``length`` + ``leeway``
    long is kept whole, a longer one is cut at a word boundary and ends with ``end``."""
    if len(text) <= length + leeway:
        return text
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


def page_numbers(page: Paged[Any], *, around: int = 2) -> list[int | None]:
    """The page numbers to link: the first, the last and those near this one; None marks a gap."""
    wanted = {1, page.pages, *range(page.number - around, page.number + around + 1)}
    numbers: list[int | None] = []
    for number in sorted(n for n in wanted if 1 <= n <= page.pages):
        if numbers and numbers[-1] is not None and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def days_to(value: dt.datetime | None) -> int | None:
    """Calendar days from today (secretariat's zone) to a deadline; negative when past."""
    return positions.days_left(value, at=clock.now()) if value else None


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


class OverviewRow(NamedTuple):
    """One obligation as the overview shows it: plain values and the strings the page prints."""

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


def overview(read: Overview, *, prefect: str | None = None) -> Paged[ResolutionBlock]:
    """The overview's page: each resolution with its obligations' rows, in paragraph order.

    ``prefect`` is the base of the flow-run links (:func:`prefect_ui_base`).
    """
    blocks = {ref.id: ResolutionBlock(ref, []) for ref in read.resolutions}
    counts, now, local = read.counts, clock.now(), i18n.local_formatter()
    # The columns of queries' overview statement, in its order.
    for resolution_id, oid, num, verb_text, verb, addressee, excerpt, *rest in read.rows:
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
                due=local(due_at) or NO_VALUE,
                # is_overdue reads only these two: the rule stays in one place, without
                # building a table object (~60 us) per row.
                overdue=is_overdue(cast(Obligation, _Due(status, due_at)), now),
                next_action=counts[oid].next_action(status, playbook),
                last_flow_run_id=run_id,
                flow_run_url=flow_run_url(prefect, run_id),
            )
        )
    return Paged(list(blocks.values()), read.total, read.limit, read.offset)


# --- one obligation's timeline ----------------------------------------------------------------


class TimelineEntry(NamedTuple):
    """An audit event as the timeline prints it."""

    kind: str
    subject: str
    actor: str
    at_iso: str
    at_local: str
    payload: str


def timeline_entries(events: Paged[Event]) -> Paged[TimelineEntry]:
    """The page of events with the strings the timeline shows."""
    local = i18n.local_formatter()
    return Paged(
        [
            TimelineEntry(
                kind=event.kind,
                subject=event.subject,
                actor=event.actor,
                at_iso=event.occurred_at.isoformat(),
                at_local=local(event.occurred_at) or NO_VALUE,
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


# A state not invited yet: invited, reminded, received, attachment, verdict and its text.
_NOT_INVITED = (NO_VALUE, NO_VALUE, "", "", None, NO_VALUE)


def position_rows(lines: Sequence[read_model.PositionLine]) -> list[PositionRow]:
    """The page's lines with their dates in the secretariat's zone, made in one pass."""
    day = i18n.local_formatter("YYYY-MM-DD")
    rows = []
    for line in lines:
        state, row = line.state, line.submission
        if row is None:
            rows.append(PositionRow(state.iso3, state.name_en, state.language, *_NOT_INVITED))
            continue
        rows.append(
            PositionRow(
                iso3=state.iso3,
                name=state.name_en,
                language=state.language,
                invited=day(row.invited_at) or NO_VALUE,
                reminded=day(row.reminded_at) or NO_VALUE,
                received=day(row.received_at),
                attachment=row.attachment_name or "",
                verdict=row.verdict,
                verdict_text=line.verdict.replace("_", " ") or NO_VALUE,
            )
        )
    return rows
