"""The rules of ``migrant_perspectives`` (1244 OP2): the reporting period and the progress.

The cadence is checked from adoption (the resolution's ``adopted`` date, else its adoption
day) to the end of the High-level Dialogue (``hld_end``), else the obligation's due day in
the secretariat's zone, else open-ended. The report is due on the period's last day, and
covers what happened up to it; until then the bar moves from 5 % to 90 % with the days checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from operative.errors import Invalid
from operative.register.runs import Brief

DEFAULT_CADENCE_WEEKS = 8


@dataclass(frozen=True)
class Window:
    """The part of the period a run checks: ``since`` to ``until``, and whether it closes it."""

    since: dt.date
    until: dt.date
    end: dt.date | None

    @property
    def begun(self) -> bool:
        return self.until >= self.since

    @property
    def closing(self) -> bool:
        """The period's last day has come: the report is written."""
        return self.end is not None and self.until >= self.end

    @property
    def progress(self) -> int:
        """5 % once begun, up to 90 % at the period's end (the report takes it to 100)."""
        span = max(((self.end or self.until) - self.since).days, 1)
        return 5 + int(85 * (self.until - self.since).days / span)


def period(brief: Brief, *, timezone: str) -> tuple[dt.date, dt.date | None]:
    """From adoption to the end of the Dialogue (or the obligation's due day, or open-ended)."""
    dates = brief.resolution.key_dates
    since = dates.get("adopted") or brief.resolution.adopted_on
    if since is None:
        raise Invalid("the resolution has no adoption date: the cadence has no start")
    if "hld_end" in dates:
        return since, dates["hld_end"]
    if brief.due_at is not None:
        return since, brief.due_at.astimezone(ZoneInfo(timezone)).date()
    return since, None


def window(brief: Brief, *, today: dt.date, timezone: str) -> Window:
    """What a run on ``today`` checks: up to today, or to the period's end once it is past."""
    since, end = period(brief, timezone=timezone)
    return Window(since=since, until=min(today, end) if end is not None else today, end=end)
