"""The one clock, and how deadlines are set.

Every piece of code asks :func:`now` for the time, so a test or the demo can replay a past
year by installing another clock with :func:`use_clock`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pendulum

Clock = Callable[[], pendulum.DateTime]


def _system_clock() -> pendulum.DateTime:
    return pendulum.now("UTC")


_clock: Clock = _system_clock


def now() -> pendulum.DateTime:
    """The current time in UTC, from the installed clock."""
    return _clock()


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
