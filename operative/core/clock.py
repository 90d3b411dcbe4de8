"""The one clock, and how deadlines are set.

Every piece of code asks :func:`now` for the time, so a test or the demo can replay a past
year by installing another clock with :func:`use_clock`: every timestamp the product writes
(audit events, documents, approvals, messages and deliveries, steps, records, submissions,
inbox files) is business time. Only what measures elapsed seconds asks :func:`wall_time`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pendulum

from operative.errors import Invalid

Clock = Callable[[], pendulum.DateTime]

# The office's zone: its working days, and the clock of its own people (there is no
# Europe/Geneva; Geneva keeps Zurich's time).
GENEVA = "Europe/Zurich"


def _system_clock() -> pendulum.DateTime:
    return pendulum.now("UTC")


_clock: Clock = _system_clock


def now() -> pendulum.DateTime:
    """The current time in UTC, from the installed clock."""
    return _clock()


def wall_time() -> dt.datetime:
    """The real time in UTC, whatever clock is installed: only for what measures elapsed
    seconds (a claim's lease, a retry's back-off), which a business clock standing still
    within a replayed day, or jumping a day at a time, would never let expire or would expire
    at once. Never for a timestamp a person reads."""
    return dt.datetime.now(dt.UTC)


@contextmanager
def use_clock(clock: Clock) -> Iterator[None]:
    """Run a block with ``clock`` as the time source."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield
    finally:
        _clock = previous


def deadline(day: dt.date, *, at: str, tz: str) -> pendulum.DateTime:
    """The UTC instant of local time ``at`` (HH:MM) on ``day`` in zone ``tz``."""
    hour, minute = (int(part) for part in at.split(":"))
    local = pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=tz)
    return local.in_timezone("UTC")


def shift_days(day: dt.date, days: int) -> dt.date:
    """``day`` moved by a number of calendar days (negative: earlier)."""
    return day + dt.timedelta(days=days)


# --- working days ----------------------------------------------------------------------------
#
# Deadlines and reminders fall on Geneva working days: Monday to Friday, except the public
# holidays of the canton of Geneva (the holidays package: Jeûne genevois, Restauration de la
# République…) and the office closures configured in config/calendar.toml.


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days the secretariat works."""

    country: str = "CH"
    subdivision: str = "GE"
    closures: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.closures
            and day not in _holidays(self.country, self.subdivision, day.year)
        )

    def shift(self, day: dt.date, working_days: int) -> dt.date:
        """``day`` moved by a number of working days (negative: earlier); 0 gives ``day``
        itself if it is a working day, else the next one."""
        step = 1 if working_days >= 0 else -1
        remaining = abs(working_days)
        if remaining == 0:
            while not self.is_working_day(day):
                day += dt.timedelta(days=1)
            return day
        while remaining:
            day += dt.timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=[year]))


def load_working_calendar(path: Path | None = None) -> WorkingCalendar:
    """The calendar of ``config/calendar.toml`` (holidays' region and office closures)."""
    from operative.core.settings import get_settings

    path = path or get_settings().config_dir / "calendar.toml"
    if not path.is_file():
        return WorkingCalendar()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Invalid(f"{path}: not valid TOML ({exc})") from None
    closures: set[dt.date] = set()
    for index, value in enumerate(raw.get("office_closures", [])):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise Invalid(f"{path}: office_closures[{index}]: expected a date, got {value!r}")
        closures.add(value)
    return WorkingCalendar(
        country=str(raw.get("country", "CH")),
        subdivision=str(raw.get("subdivision", "GE")),
        closures=frozenset(closures),
    )
