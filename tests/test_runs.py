"""The run lease: one active run per obligation, takeover of a dead holder, audited (no Prefect)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import select

from operative.core.db import session_scope
from operative.errors import Invalid
from operative.models import Event, ObligationStatus
from operative.register import obligations, runs
from tests.factories import obligation_of, register_1244

PLAYBOOK = "forward_to_pga"


def _setup() -> int:
    with session_scope() as session:
        return register_1244(session)[PLAYBOOK]


def _never_asked(holder: runs.RunHolder) -> str | None:
    raise AssertionError(f"the holder {holder.run_id} was not to be asked about")


def _takeovers() -> list[Event]:
    with session_scope() as session:
        return list(session.exec(select(Event).where(Event.kind == "obligation.run_taken_over")))


def test_a_run_takes_the_lease_and_is_briefed_with_real_dates(db_url: str) -> None:
    """The flow reads dates as dates: nothing downstream re-parses an ISO string."""
    ob = _setup()
    started = runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    assert isinstance(started, runs.Brief)
    assert started.obligation_id == ob and started.paragraph == "5"
    assert started.resolution.number == "1244"
    assert started.resolution.adopted_on == dt.date(2012, 11, 27)
    assert started.resolution.key_dates["hld"] == dt.date(2013, 10, 3)
    # OP5 is due 21 days after adoption: the brief carries that deadline as an aware time.
    assert started.due_at is not None and started.due_at.tzinfo is not None
    with session_scope() as session:
        obligation = obligation_of(session, PLAYBOOK)
        assert obligation.active_run_id == "run-a"
        assert obligation.last_flow_run_id == "run-a"
        assert obligation.status == ObligationStatus.in_progress


def test_a_second_run_stops_while_the_holder_is_active_and_writes_nothing(db_url: str) -> None:
    """Two runs of one obligation would send its letters twice."""
    ob = _setup()
    runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    asked: list[str] = []

    def running(holder: runs.RunHolder) -> str | None:
        asked.append(holder.run_id)
        return "Running"

    stopped = runs.begin(ob, PLAYBOOK, "run-b", holder_state=running)
    assert stopped == runs.Stopped("already running: run-a", holder_state="Running")
    assert asked == ["run-a"]
    with session_scope() as session:
        assert obligation_of(session, PLAYBOOK).active_run_id == "run-a"
    assert _takeovers() == []


def test_a_run_resumed_from_suspension_takes_its_own_lease_again(db_url: str) -> None:
    """A suspended run is run again from the top, still holding the lease: it is not refused."""
    ob = _setup()
    runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    again = runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    assert isinstance(again, runs.Brief)


def test_a_holder_no_longer_active_is_taken_over_and_the_takeover_audited(db_url: str) -> None:
    """A crashed run must not block its obligation for ever, and the register says who took it."""
    ob = _setup()
    runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    taken = runs.begin(ob, PLAYBOOK, "run-b", holder_state=lambda holder: None)
    assert isinstance(taken, runs.Brief)
    with session_scope() as session:
        assert obligation_of(session, PLAYBOOK).active_run_id == "run-b"
    [event] = _takeovers()
    assert json.loads(event.payload) == {"from": "run-a", "to": "run-b"}
    assert event.subject == f"obligation:{ob}"


def test_a_finished_obligation_stops_the_run_without_taking_the_lease(db_url: str) -> None:
    """A done obligation has nothing left to do; holding its lease would only mislead."""
    ob = _setup()
    with session_scope() as session:
        obligation = obligation_of(session, PLAYBOOK)
        obligations.transition(session, obligation, ObligationStatus.cancelled, actor="test")
    assert runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked) == runs.Stopped("cancelled")
    with session_scope() as session:
        assert obligation_of(session, PLAYBOOK).active_run_id is None


def test_only_the_holder_releases_the_lease(db_url: str) -> None:
    """A late hook of a run that was taken over must not free its successor's lease."""
    ob = _setup()
    runs.begin(ob, PLAYBOOK, "run-a", holder_state=_never_asked)
    assert not runs.release(ob, "run-b")
    assert runs.release(ob, "run-a")
    assert not runs.release(ob, "run-a")
    with session_scope() as session:
        assert runs.run_holder(session, ob) is None


def test_a_run_of_another_playbook_is_refused(db_url: str) -> None:
    """Starting the wrong flow on an obligation is a mistake to report, not to carry out."""
    ob = _setup()
    with pytest.raises(Invalid, match="follows forward_to_pga"):
        runs.begin(ob, "track_obligation", "run-a", holder_state=_never_asked)
