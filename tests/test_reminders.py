"""Time travel: reminders fall on the right Geneva working day and hour, across DST changes,
skip holidays and weekends, respect quiet hours, and never repeat a stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest

from operative.core.clock import load_working_calendar
from operative.reminders.policy import (
    Policy,
    ReminderConfigError,
    due_stages,
    load_reminder_config,
    plan,
)
from tests.factories import refusal

CONFIG = load_reminder_config()
GENEVA_CAL = load_working_calendar()
POLICY = Policy(before=[10, 5, 1], overdue_every=3, escalate_after=2, supervisor="secretariat")


def _due(y: int, m: int, d: int) -> dt.datetime:
    return pendulum.datetime(y, m, d, 18, tz="Europe/Zurich").in_timezone("UTC")


def _stages(due: dt.datetime, tz: str = "Europe/Zurich") -> dict[str, pendulum.DateTime]:
    return {
        s.name: pendulum.instance(s.fires_at)
        for s in plan(due, POLICY, calendar=GENEVA_CAL, send_at=CONFIG.send_at, recipient_tz=tz)
    }


def test_jeune_genevois_is_skipped_when_counting_working_days_back() -> None:
    """Thursday 5 September 2013 is a Geneva holiday: five working days before Monday 9 is 30 August."""
    stages = _stages(_due(2013, 9, 9))
    assert stages["before-1"].date() == dt.date(2013, 9, 6)
    assert stages["before-5"].date() == dt.date(2013, 8, 30)


def test_restauration_and_new_year_are_skipped_when_overdue() -> None:
    """31 December and 1 January are Geneva holidays: three working days after 27 December is 3 January."""
    stages = _stages(_due(2013, 12, 27))
    assert stages["overdue-1"].date() == dt.date(2014, 1, 3)


def test_reminders_keep_nine_oclock_geneva_across_both_2013_dst_changes() -> None:
    """09:00 local is 08:00 UTC in winter and 07:00 UTC in summer: the clock change must not move it."""
    spring = _stages(_due(2013, 4, 3))  # 31 March 2013: clocks go forward
    assert spring["before-1"].date() == dt.date(2013, 4, 2)
    assert spring["before-5"].date() == dt.date(2013, 3, 25)  # skips Easter Monday and Good Friday
    assert (spring["before-1"].hour, spring["before-5"].hour) == (7, 8)
    autumn = _stages(_due(2013, 10, 29))  # 27 October 2013: clocks go back
    assert autumn["before-1"].in_timezone("Europe/Zurich").hour == 9
    assert (autumn["before-1"].hour, autumn["before-5"].hour) == (8, 7)


def test_no_stage_falls_on_a_weekend_or_holiday() -> None:
    """A reminder on a Saturday or a holiday reaches nobody at the office."""
    for due in (_due(2013, 8, 8), _due(2013, 9, 9), _due(2013, 12, 27), _due(2013, 4, 3)):
        for name, moment in _stages(due).items():
            day = moment.in_timezone("Europe/Zurich").date()
            assert GENEVA_CAL.is_working_day(day), (name, day)


def test_sweeping_every_hour_sends_each_stage_once_in_order_and_never_in_quiet_hours() -> None:
    """The sweep runs often; a mission must still get each reminder once, in its own daytime."""
    due = _due(2013, 10, 29)
    for tz in ("Europe/Zurich", "America/New_York"):
        sent: list[tuple[str, pendulum.DateTime]] = []
        now = pendulum.datetime(2013, 10, 1, tz="UTC")
        while now < pendulum.datetime(2013, 11, 30, tz="UTC"):
            for stage in due_stages(
                due,
                now,
                {s for s, _ in sent},
                POLICY,
                calendar=GENEVA_CAL,
                config=CONFIG,
                recipient_tz=tz,
            ):
                sent.append((stage.name, now))
            now = now.add(hours=1)
        names = [name for name, _ in sent]
        assert len(names) == len(set(names))
        assert names[:4] == ["before-10", "before-5", "before-1", "overdue-1"]
        assert names.count("escalation") == 1 and names.index("escalation") > names.index(
            "overdue-2"
        )
        for name, moment in sent:
            zone = "Europe/Zurich" if name == "escalation" else tz
            local = moment.in_timezone(zone)
            assert not CONFIG.quiet_hours.contains(dt.time(local.hour, local.minute)), (name, local)
            assert local.hour == 9, (name, local)


def test_a_sweep_that_missed_days_sends_only_the_latest_stage() -> None:
    """After an outage, one reminder — not three at once."""
    due = _due(2013, 10, 29)
    now = pendulum.datetime(2013, 10, 28, 10, tz="Europe/Zurich").in_timezone("UTC")
    stages = due_stages(
        due, now, set(), POLICY, calendar=GENEVA_CAL, config=CONFIG, recipient_tz="Europe/Zurich"
    )
    assert [s.name for s in stages] == ["before-1"]


def test_no_stage_that_came_before_the_recipient_was_asked_is_sent() -> None:
    """A state invited after the ten-day reminder reads the deadline in its invitation; it must
    hear next at the five-day stage, not get a reminder the minute it is invited."""
    due = _due(2013, 10, 29)
    invited = pendulum.datetime(2013, 10, 18, 12, tz="Europe/Zurich").in_timezone("UTC")
    common = {"config": CONFIG, "calendar": GENEVA_CAL, "recipient_tz": "Europe/Zurich"}
    just_after = invited.add(hours=1)
    assert due_stages(due, just_after, set(), POLICY, **common) != []  # without asked_at
    assert due_stages(due, just_after, set(), POLICY, asked_at=invited, **common) == []
    five_days = _stages(due)["before-5"]
    later = due_stages(due, five_days, set(), POLICY, asked_at=invited, **common)
    assert [s.name for s in later] == ["before-5"]


def test_an_edited_policy_takes_effect_at_the_next_read(tmp_path: Path) -> None:
    """The policy is read once per version of the file, not once per process: an officer who
    changes the offsets must not have to restart the sweep."""
    path = tmp_path / "reminders.yaml"
    path.write_text("defaults: {before: [10, 5, 1]}\n", encoding="utf-8")
    assert load_reminder_config(path).defaults.before == [10, 5, 1]
    path.write_text("defaults: {before: [20, 2]}\n", encoding="utf-8")
    assert load_reminder_config(path).defaults.before == [20, 2]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (
            "playbooks: {national_positions: {before: [1, 5, 10]}}",
            "playbooks.national_positions.before",
        ),
        ("defaults: {before: [10, -5]}", "defaults.before"),
        ("defaults: {overdue_every: 0}", "defaults.overdue_every"),
        ("send_at: '25:00'", "send_at"),
        ("send_at: '22:00'", "send_at falls within quiet_hours"),
        ("defaults: {before: [5], sometimes: true}", "defaults.sometimes"),
    ],
)
def test_bad_reminder_policy_is_refused_naming_the_key(
    tmp_path: Path, content: str, named: str
) -> None:
    """A policy that would spam or never remind must stop at load, pointing at the line to fix."""
    path = tmp_path / "reminders.yaml"
    assert named in refusal(load_reminder_config, ReminderConfigError, path, content)
