"""A replayed year of reminders: the hourly sweep and the playbook runs keep one schedule.

From February 2013 to January 2014 on the business clock, the reminder sweep runs every hour
(as deploy/prefect.yaml schedules it) and the two playbooks that remind people, track_obligation
and national_positions, run every Monday at 09:00 in Geneva, before that hour's sweep. Whoever
of the two sends a stage, the owner of a tracked obligation and a Member State that never
answers must each receive exactly the stages config/reminders.yaml gives them, each once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pendulum
from sqlmodel import col, select

from flows.national_positions import national_positions
from flows.track_obligation import track_obligation
from operative.core import clock as calendar
from operative.core.clock import load_working_calendar
from operative.core.db import session_scope
from operative.models import (
    Delivery,
    MemberState,
    Message,
    Obligation,
    ObligationStatus,
    ReminderSent,
    Submission,
)
from operative.notify.dispatch import dispatch_pending
from operative.playbooks import national_positions as positions
from operative.register import obligations
from operative.reminders.policy import Stage, load_reminder_config, plan
from tasks.reminders import enqueue_due_reminders
from tests.flows.conftest import obligation_id

GENEVA = "Europe/Zurich"
FIRST_HOUR = pendulum.datetime(2013, 2, 1, tz=GENEVA).in_timezone("UTC")
LAST_HOUR = pendulum.datetime(2014, 1, 31, 23, tz=GENEVA).in_timezone("UTC")
SILENT, LATE, EARLY = "KEN", "ARG", "FRA"
LATE_ANSWER = pendulum.datetime(2013, 7, 30, 11, tz=GENEVA).in_timezone("UTC")
EARLY_ANSWER = pendulum.datetime(2013, 3, 12, 11, tz=GENEVA).in_timezone("UTC")


def _stages(due_at: pendulum.DateTime, playbook: str) -> list[Stage]:
    config = load_reminder_config()
    return plan(
        due_at,
        config.policy(playbook),
        calendar=load_working_calendar(),
        send_at=config.send_at,
        recipient_tz=GENEVA,
    )


def _prepare() -> tuple[int, int]:
    """OP1 tracked by hand (its owner, the DG's office, then owns nothing else open) and a
    campaign among three Member States, so that every delivery counted is one of theirs."""
    tracked, campaign = obligation_id("inform_member_states"), obligation_id("national_positions")
    also_the_dgs = obligation_id("migrant_perspectives")
    with session_scope() as session:
        obligations.reassign(session, tracked, "track_obligation", actor="officer")
        other = session.get(Obligation, also_the_dgs)
        assert other is not None and other.actor_role == "director_general"
        obligations.transition(session, other, ObligationStatus.cancelled, actor="officer")
        for state in session.exec(select(MemberState)):
            state.active = state.iso3 in {SILENT, LATE, EARLY}
            session.add(state)
    return tracked, campaign


def _answer(campaign: int, iso3: str) -> Callable[[], object]:
    def submit() -> object:
        with session_scope() as session:
            return positions.submit(session, campaign, iso3, text=f"Position of {iso3}", actor=iso3)

    return submit


def _sweep() -> None:
    """What the hourly reminder_sweep flow does, without a Prefect run for each of 8,760 hours
    (and dispatching only when it enqueued: the deliveries counted exist from the enqueue on)."""
    if enqueue_due_reminders.fn().messages:
        dispatch_pending()


def _replay(tracked: int, campaign: int) -> None:
    answers = {EARLY_ANSWER: _answer(campaign, EARLY), LATE_ANSWER: _answer(campaign, LATE)}
    hour = FIRST_HOUR
    while hour <= LAST_HOUR:
        moment = hour
        with calendar.use_clock(lambda: moment):  # noqa: B023 (used within the iteration)
            if moment in answers:
                answers[moment]()
            local = moment.in_timezone(GENEVA)
            if local.day_of_week == pendulum.MONDAY and local.hour == 9:
                track_obligation(tracked)
                national_positions(campaign)
            _sweep()
        hour = hour.add(hours=1)


def _delivered_stages(recipient: str, target: str) -> list[str | None]:
    """The stage of each reminder delivered to ``recipient`` about ``target``, in order; None
    for a reminder no record of the policy's stages accounts for."""
    with session_scope() as session:
        rows = session.exec(
            select(Delivery.id, ReminderSent.stage, Message.key)
            .join(Message, col(Delivery.message_id) == col(Message.id))
            .join(
                ReminderSent,
                (col(ReminderSent.message_id) == col(Message.id))
                & (col(ReminderSent.target) == target),
                isouter=True,
            )
            .where(
                Delivery.recipient == recipient,
                col(Message.kind).in_(["reminder", "overdue", "briefing"]),
            )
            .order_by(col(Delivery.id))
        ).all()
    return [stage for _id, stage, _key in rows]


def _due_at(ob: int) -> pendulum.DateTime:
    with session_scope() as session:
        found = session.get(Obligation, ob)
        assert found is not None and found.due_at is not None
        return pendulum.instance(found.due_at)


def _submission(campaign: int, iso3: str) -> Submission:
    with session_scope() as session:
        return session.exec(
            select(Submission).where(
                Submission.obligation_id == campaign, Submission.member_state_iso3 == iso3
            )
        ).one()


def test_an_owner_and_a_silent_state_each_get_every_policy_stage_once_over_a_replayed_year(
    db_url: str, flows_env: Path
) -> None:
    """Two schedules for the same people meant two reminders for one occasion, on dates the
    policy never set: a year of hourly sweeps and weekly runs must add up to the policy alone."""
    tracked, campaign = _prepare()
    _replay(tracked, campaign)

    tracked_due = _due_at(tracked)
    campaign_due = _due_at(campaign)
    owner_stages = _stages(tracked_due, "track_obligation")
    state_stages = _stages(campaign_due, "national_positions")
    assert owner_stages[-1].fires_at < LAST_HOUR and state_stages[-1].fires_at < LAST_HOUR
    assert [s.name for s in state_stages[:3]] == ["before-10", "before-5", "before-1"]
    # Ten Geneva working days before Thursday 8 August, 1 August (the national day) not one.
    assert state_stages[0].fires_at == pendulum.datetime(2013, 7, 24, 9, tz=GENEVA)

    silent = _submission(campaign, SILENT)
    assert _delivered_stages(SILENT, f"submission:{silent.id}") == [
        s.name for s in state_stages if not s.escalation
    ]
    late = _submission(campaign, LATE)
    assert _delivered_stages(LATE, f"submission:{late.id}") == ["before-10"]
    assert _delivered_stages(EARLY, f"submission:{_submission(campaign, EARLY).id}") == []
    assert _delivered_stages("director_general", f"obligation:{tracked}") == [
        s.name for s in owner_stages if not s.escalation
    ]
    for target in (f"submission:{silent.id}", f"obligation:{tracked}"):
        assert _delivered_stages("secretariat", target).count("escalation") == 1

    # The campaign's "reminded" is the day the policy's first reminder went out.
    assert silent.reminded_at == state_stages[0].fires_at
    assert late.reminded_at == state_stages[0].fires_at
