"""Reminder policy and plan: which reminder is due for a deadline, now, and to whom.

``config/reminders.yaml``, read here, is the only rule of when anyone is reminded: the hourly
sweep and every playbook run ask :func:`due_stages` (through :mod:`operative.reminders.sweep`),
and no flow keeps a schedule of its own.

Stages are named ``before-10``, ``before-5``, ``before-1``, ``overdue-1``, ``overdue-2``… and
``escalation``. Each fires on a Geneva working day at ``send_at`` in the recipient's own zone.
Only the latest stage whose time has come is sent (a sweep that missed a day does not send
three reminders at once), each stage at most once, and nothing during the recipient's quiet
hours. A stage that came before its recipient was asked (a Member State invited after it) is
not sent: the invitation already names the deadline. The escalation to the supervising role
goes once, after ``escalate_after`` overdue reminders.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pendulum
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from operative.core.clock import GENEVA, WorkingCalendar
from operative.core.configfile import load_yaml_model
from operative.errors import Invalid

MAX_OVERDUE = 20


class ReminderConfigError(Invalid):
    """The reminder policy is not usable; the message names the offending key."""


def _clock(value: str) -> str:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"expected HH:MM, got {value!r}")
    return value


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    before: list[int] = Field(default_factory=lambda: [10, 5, 1])
    overdue_every: int = 3
    escalate_after: int = 2
    supervisor: str = "secretariat"

    @field_validator("before")
    @classmethod
    def _ordered(cls, value: list[int]) -> list[int]:
        if any(offset <= 0 for offset in value):
            raise ValueError("offsets must be positive working days")
        if value != sorted(set(value), reverse=True):
            raise ValueError("offsets must be distinct and in decreasing order (e.g. [10, 5, 1])")
        return value

    @field_validator("overdue_every", "escalate_after")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number")
        return value


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = "19:00"
    end: str = "08:00"

    _check = field_validator("start", "end")(classmethod(lambda cls, v: _clock(v)))

    def contains(self, local: dt.time) -> bool:
        start, end = dt.time.fromisoformat(self.start), dt.time.fromisoformat(self.end)
        if start <= end:
            return start <= local < end
        return local >= start or local < end


class ReminderConfig(BaseModel):
    """``config/reminders.yaml``, validated."""

    # Frozen: one validated copy is shared by every caller (see load_reminder_config).
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_at: str = "09:00"
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    defaults: Policy = Field(default_factory=Policy)
    playbooks: dict[str, Policy] = Field(default_factory=dict)

    _send_at = field_validator("send_at")(classmethod(lambda cls, v: _clock(v)))

    @model_validator(mode="after")
    def _send_outside_quiet_hours(self) -> ReminderConfig:
        if self.quiet_hours.contains(dt.time.fromisoformat(self.send_at)):
            raise ValueError("send_at falls within quiet_hours: no reminder would ever go out")
        return self

    def policy(self, playbook: str) -> Policy:
        return self.playbooks.get(playbook, self.defaults)


def load_reminder_config(path: Path | None = None) -> ReminderConfig:
    """Read and validate the reminder policy; a bad file raises :class:`ReminderConfigError`."""
    from operative.core.settings import get_settings

    path = path or get_settings().config_dir / "reminders.yaml"
    try:
        stat = path.stat()
    except OSError:
        return load_yaml_model(path, ReminderConfig, ReminderConfigError)
    # The sweep runs every hour and every playbook run asks too: parse the file once per
    # version of it, so an edit still takes effect at the next call.
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _parsed(path: Path, mtime_ns: int, size: int) -> ReminderConfig:
    return load_yaml_model(path, ReminderConfig, ReminderConfigError)


@dataclass(frozen=True)
class Stage:
    """One reminder occasion: its name, when it fires (UTC), and whom it addresses."""

    name: str
    fires_at: dt.datetime
    escalation: bool = False


def _at(day: dt.date, clock: str, tz: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=tz).in_timezone("UTC")


def plan(
    due_at: dt.datetime,
    policy: Policy,
    *,
    calendar: WorkingCalendar,
    send_at: str,
    recipient_tz: str,
) -> list[Stage]:
    """Every stage of one deadline, in order of firing."""
    # Many deadlines are shared (a campaign's 175 states): compute each plan once.
    return list(
        _plan(
            due_at,
            (tuple(policy.before), policy.overdue_every, policy.escalate_after),
            calendar,
            send_at,
            recipient_tz,
        )
    )


@lru_cache(maxsize=4096)
def _plan(
    due_at: dt.datetime,
    shape: tuple[tuple[int, ...], int, int],
    calendar: WorkingCalendar,
    send_at: str,
    recipient_tz: str,
) -> tuple[Stage, ...]:
    before, overdue_every, escalate_after = shape
    policy = Policy(before=list(before), overdue_every=overdue_every, escalate_after=escalate_after)
    due_day = pendulum.instance(due_at).in_timezone(GENEVA).date()
    stages = [
        Stage(f"before-{offset}", _at(calendar.shift(due_day, -offset), send_at, recipient_tz))
        for offset in policy.before
    ]
    for number in range(1, MAX_OVERDUE + 1):
        day = calendar.shift(due_day, number * policy.overdue_every)
        stages.append(Stage(f"overdue-{number}", _at(day, send_at, recipient_tz)))
        if number == policy.escalate_after + 1:
            stages.append(Stage("escalation", _at(day, send_at, GENEVA), escalation=True))
    # A "before" stage that would fire after the deadline itself is no reminder.
    return tuple(s for s in stages if not s.name.startswith("before") or s.fires_at < due_at)


def due_stages(
    due_at: dt.datetime,
    now: dt.datetime,
    sent: set[str],
    policy: Policy,
    *,
    calendar: WorkingCalendar,
    config: ReminderConfig,
    recipient_tz: str,
    asked_at: dt.datetime | None = None,
) -> list[Stage]:
    """What to send now for one deadline: the latest reminder stage whose time has come, if it
    was not sent, and the escalation once it is due; nothing in the recipient's quiet hours,
    and no stage that came before the recipient was asked (``asked_at``)."""
    stages = plan(
        due_at, policy, calendar=calendar, send_at=config.send_at, recipient_tz=recipient_tz
    )
    ready = [s for s in stages if s.fires_at <= now and (asked_at is None or s.fires_at > asked_at)]
    candidates = (_latest_reminder(ready), _escalation(ready))
    return [
        stage
        for stage in candidates
        if stage is not None
        and stage.name not in sent
        and not _quiet(config, now, GENEVA if stage.escalation else recipient_tz)
    ]


def _latest_reminder(ready: list[Stage]) -> Stage | None:
    return next((stage for stage in reversed(ready) if not stage.escalation), None)


def _escalation(ready: list[Stage]) -> Stage | None:
    return next((stage for stage in ready if stage.escalation), None)


def _quiet(config: ReminderConfig, now: dt.datetime, tz: str) -> bool:
    """Whether ``now`` falls in the quiet hours of zone ``tz``."""
    local = pendulum.instance(now).in_timezone(tz).time()
    return config.quiet_hours.contains(dt.time(local.hour, local.minute))
