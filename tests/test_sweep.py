"""The reminder sweep's core on SQLite and PostgreSQL: due stages found, each sent once."""

from __future__ import annotations

import datetime as dt

import pendulum
import sqlalchemy as sa
from sqlmodel import col, func, select

from operative.core import clock as calendar
from operative.core.db import session_scope
from operative.core.settings import get_settings
from operative.models import Delivery, Message, ReminderSent, Submission
from operative.playbooks import national_positions as positions
from operative.reminders.sweep import enqueue_due, escalate_stale_approvals, find_due, remind
from tests.factories import register_1244

GENEVA = "Europe/Zurich"


INVITED = pendulum.datetime(2013, 1, 15, 10, tz=GENEVA)


def _setup() -> dict[str, int]:
    """1244, five states invited to the campaign in January 2013, one of which has answered."""
    with calendar.use_clock(lambda: INVITED), session_scope() as session:
        obligations = register_1244(session)
        codes = positions.active_states(session)[:5]
        positions.invite(session, obligations["national_positions"], codes)
        positions.submit(
            session,
            obligations["national_positions"],
            codes[0],
            text="Our position",
            actor="mission",
        )
    return obligations


def _sweep(at: pendulum.DateTime) -> dict[str, int]:
    with session_scope() as session:
        due = find_due(session, at.in_timezone("UTC"))
        return enqueue_due(session, due, now=at.in_timezone("UTC"))


def test_sweep_reminds_unanswered_states_and_owners_once_per_stage(db_url: str) -> None:
    """Ten working days before 8 August 2013: the four states that did not answer, once; a second sweep adds nothing."""
    _setup()
    at = pendulum.datetime(2013, 7, 25, 9, 30, tz=GENEVA)
    first = _sweep(at)
    assert first["reminders"] >= 4
    again = _sweep(at.add(hours=2))
    assert again == {"reminders": 0, "messages": 0}
    with session_scope() as session:
        to_states = session.exec(
            select(ReminderSent).where(ReminderSent.target.startswith("submission:"))
        ).all()  # type: ignore[attr-defined]
        assert len(to_states) == 4 and {r.stage for r in to_states} == {"before-10"}
        deliveries = session.exec(select(func.count()).select_from(Delivery)).one()
        keys = session.exec(select(Message.key)).all()
    assert deliveries >= 4
    assert any(key.startswith("reminder:") and ":before-10:" in key for key in keys)


def test_a_run_reminding_its_own_obligation_and_the_sweep_share_one_record(db_url: str) -> None:
    """A playbook run and the hourly sweep both ask the policy: whichever comes first sends a
    stage, and the other must find it sent, or a state hears the same reminder twice."""
    obligations = _setup()
    campaign = obligations["national_positions"]
    at = pendulum.datetime(2013, 7, 25, 9, 30, tz=GENEVA).in_timezone("UTC")
    with session_scope() as session:
        by_run = remind(session, at, obligation_id=campaign)
    with session_scope() as session:
        by_sweep = remind(session, at.add(hours=1))
        to_states = session.exec(
            select(ReminderSent).where(col(ReminderSent.target).startswith("submission:"))
        ).all()
        stamped = session.exec(
            select(Submission.reminded_at).where(col(Submission.reminded_at).is_not(None))
        ).all()
    assert (by_run.reminders, by_run.stages) == (4, ("before-10",))
    assert by_sweep.reminders == 0 and len(to_states) == 4, "the sweep found each stage sent"
    assert stamped == [at] * 4, "each state's first reminder is its campaign's 'reminded'"


def test_a_state_invited_after_a_stage_is_sent_the_next_one_only(db_url: str) -> None:
    """An invitation that arrives after a stage's day already names the deadline: reminding at
    once would be noise, but the next stage must still reach the state."""
    obligations = _setup()
    campaign = obligations["national_positions"]
    invited = pendulum.datetime(2013, 7, 29, 10, tz=GENEVA)
    with calendar.use_clock(lambda: invited), session_scope() as session:
        late = positions.active_states(session)[-1]
        positions.invite(session, campaign, [late])
    _sweep(invited.add(hours=1))
    _sweep(pendulum.datetime(2013, 8, 1, 9, 30, tz=GENEVA))
    with session_scope() as session:
        stages = session.exec(
            select(ReminderSent.stage)
            .join(
                Submission,
                col(ReminderSent.target) == "submission:" + sa.cast(col(Submission.id), sa.String),
            )
            .where(Submission.member_state_iso3 == late)
        ).all()
    assert stages == ["before-5"]


def test_owners_get_one_digest_per_role_ten_working_days_before(db_url: str) -> None:
    """The DG's office hears of the briefing deadline (2 October 2013) once, on 18 September."""
    obligations = _setup()
    target = f"obligation:{obligations['inform_member_states']}"
    _sweep(pendulum.datetime(2013, 9, 17, 9, 30, tz=GENEVA))
    with session_scope() as session:
        assert session.exec(select(ReminderSent).where(ReminderSent.target == target)).all() == []
    counts = _sweep(pendulum.datetime(2013, 9, 18, 9, 30, tz=GENEVA))
    with session_scope() as session:
        sent = session.exec(select(ReminderSent).where(ReminderSent.target == target)).all()
        digests = session.exec(
            select(Message).where(Message.key.startswith("reminder-digest:director_general:"))
        ).all()  # type: ignore[attr-defined]
    assert [(r.stage, r.recipient) for r in sent] == [("before-10", "director_general")]
    assert len(digests) == 1 and counts["messages"] >= 1


def test_sweep_at_night_sends_nothing_and_the_morning_sweep_sends_it(db_url: str) -> None:
    """Quiet hours: a mission is not written to at 23:00 Geneva."""
    _setup()
    late_evening = _sweep(pendulum.datetime(2013, 7, 25, 23, tz=GENEVA))
    night = _sweep(pendulum.datetime(2013, 7, 26, 6, tz=GENEVA))
    morning = _sweep(pendulum.datetime(2013, 7, 26, 9, 5, tz=GENEVA))
    assert late_evening["reminders"] == 0 and night["reminders"] == 0
    assert morning["reminders"] >= 4


def test_overdue_states_get_overdue_notices_and_the_supervisor_one_escalation(db_url: str) -> None:
    """After two overdue reminders, the secretariat hears of it once."""
    _setup()
    stages: list[str] = []
    day = pendulum.datetime(2013, 8, 9, 9, 5, tz=GENEVA)
    for _ in range(20):
        _sweep(day)
        day = day.add(days=1)
    with session_scope() as session:
        rows = session.exec(select(ReminderSent)).all()
        stages = [r.stage for r in rows if r.target.startswith("submission:")]
        escalations = [r for r in rows if r.stage == "escalation"]
    assert {"overdue-1", "overdue-2", "overdue-3"} <= set(stages)
    assert escalations and all(r.recipient == "secretariat" for r in escalations)
    assert len({(r.target, r.stage, r.recipient) for r in rows}) == len(rows)


def test_calendar_export_lists_open_deadlines_with_stable_uids(
    db_url: str, tmp_path: object
) -> None:
    """A subscribed calendar must update events, not pile up copies, and drop finished work."""
    from pathlib import Path

    from icalendar import Calendar

    from tests.conftest import run_cli

    _setup()
    target = Path(str(tmp_path)) / "deadlines.ics"
    result = run_cli("calendar", "--ics", str(target))
    assert result.returncode == 0, result.stderr
    events = Calendar.from_ical(target.read_bytes()).walk("VEVENT")
    uids = [str(e["uid"]) for e in events]
    assert len(uids) == 5 and len(set(uids)) == 5
    again = run_cli("calendar", "--ics", str(target))
    assert again.returncode == 0
    assert [str(e["uid"]) for e in Calendar.from_ical(target.read_bytes()).walk("VEVENT")] == uids
    bad = run_cli("calendar", "--ics", str(Path(str(tmp_path)) / "missing-dir" / "x.ics"))
    assert bad.returncode == 2 and "cannot write" in bad.stderr


def test_sweep_escalates_an_undecided_approval_once_after_the_timeout(db_url: str) -> None:
    """A deployed run waits suspended, with no process to escalate for it: without the sweep,
    an approval nobody decides would wait silently for ever."""
    from operative.register import approvals

    obligations = _setup()
    requested = pendulum.datetime(2013, 7, 1, 10, tz=GENEVA)
    with session_scope() as session:
        asked = approvals.request(
            session,
            obligation_id=obligations["forward_to_pga"],
            step="transmittal",
            role="chair",
            drafted_by="a.officer",
            flow_run_id=None,
        )
        asked.requested_at = requested.in_timezone("UTC")
        session.add(asked)
        approval_id = asked.id
    timeout = dt.timedelta(seconds=get_settings().approval_timeout_seconds)
    with session_scope() as session:
        early = escalate_stale_approvals(session, now=requested + timeout - dt.timedelta(minutes=1))
    with session_scope() as session:
        late = escalate_stale_approvals(session, now=requested + timeout + dt.timedelta(hours=1))
    with session_scope() as session:
        again = escalate_stale_approvals(session, now=requested + timeout + dt.timedelta(days=2))
        keys = session.exec(select(Message.key).where(Message.key.startswith("approval:"))).all()  # type: ignore[attr-defined]
        escalated_at = approvals.get(session, approval_id or 0).escalated_at
    assert (early, late, again) == (0, 1, 0)
    assert keys == [f"approval:{approval_id}:escalation"]
    assert escalated_at is not None
