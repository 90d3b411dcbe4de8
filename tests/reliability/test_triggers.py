"""Fifty simultaneous triggers of one playbook for one obligation: one run works, the rest stop.

The triggers are flow calls from 50 threads of this process, released together by a barrier,
against the session's Prefect server, on SQLite and on PostgreSQL: each becomes a flow run of
its own, as 50 `operative run` commands or deployment runs would. OP5's letter is the
playbook, because its run waits for the Chairperson: the first run is still active (paused)
while every other one starts, so each of them must find the obligation taken.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from operative.core import audit, processes
from operative.core.db import session_scope
from operative.core.settings import get_settings
from operative.models import Approval, Delivery, Document, Event, Message, Obligation
from tests.flows.conftest import ScriptedApprover, obligation_id, register_for_flows

TRIGGERS = 50
# Long enough for 50 runs to start on a loaded 2-core machine; the first one waits meanwhile.
PATIENCE = 180.0


@pytest.fixture
def register(db_url: str, prefect_server: str, isolated_env: Path) -> Iterator[Path]:
    """1244 in a fresh register on the database under test, with flow settings on."""
    from flows._prefect.runtime import flow_settings

    register_for_flows()
    with flow_settings():
        yield isolated_env


def _trigger_all(ob: int) -> tuple[list[Any], list[threading.Thread]]:
    """Start the flow from ``TRIGGERS`` threads at once; returns their result boxes."""
    from flows.forward_to_pga import forward_to_pga

    start = threading.Barrier(TRIGGERS)
    states: list[Any] = [None] * TRIGGERS

    def trigger(index: int) -> None:
        start.wait(timeout=60)
        try:
            states[index] = forward_to_pga(ob, drafted_by="officer", return_state=True)
        except BaseException as exc:
            states[index] = exc

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(trigger, index), daemon=True)
        for index in range(TRIGGERS)
    ]
    for thread in threads:
        thread.start()
    return states, threads


def _finished(states: list[Any]) -> list[Any]:
    return [s for s in states if s is not None]


def test_fifty_simultaneous_triggers_of_one_obligation_give_exactly_one_active_run(
    register: Path, db_url: str
) -> None:
    """Catches two runs of one obligation at once: no lease, a lease read then written (two
    runs both see it free), or one a waiting run does not hold. Each extra run would wait on
    the same approval, and the first decision would send the letter from whichever got it."""
    ob = obligation_id("forward_to_pga")
    events_before = _events()
    states, threads = _trigger_all(ob)

    # Every run but one must stop at once, while the one waits for the Chairperson.
    deadline = time.monotonic() + PATIENCE
    while len(_finished(states)) < TRIGGERS - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    finished = _finished(states)
    assert len(finished) == TRIGGERS - 1, (
        f"{len(finished)} of {TRIGGERS} runs ended within {PATIENCE:.0f} s: "
        f"{Counter(_outcome(s) for s in finished)}"
    )
    holder = _holder(ob)
    assert holder is not None
    refused = Counter(_outcome(s) for s in finished)
    assert refused == {f"already running: {holder}": TRIGGERS - 1}, refused
    assert all(s.is_completed() for s in finished), "a refused run ends Completed"
    with session_scope() as session:
        [approval] = session.exec(select(Approval)).all()
        assert approval.flow_run_id == holder

    with ScriptedApprover([("chair", True, "")], wait_paused=True) as approver:
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 30))
    assert approver.errors == []
    assert not [t for t in threads if t.is_alive()], "the working run did not finish"
    outcomes = Counter(_outcome(s) for s in states)
    assert outcomes == {
        "awaiting_acknowledgement": 1,
        f"already running: {holder}": TRIGGERS - 1,
    }, outcomes
    run_ids = {str(s.state_details.flow_run_id) for s in states}
    assert len(run_ids) == TRIGGERS, "each trigger was a run of its own"

    with session_scope() as session:
        assert len(session.exec(select(Approval)).all()) == 1
        assert len(session.exec(select(Document)).all()) == 1
        kinds = Counter(m.kind for m in session.exec(select(Message)).all())
        assert kinds == {"approval_request": 1, "transmittal": 1}, kinds
        deliveries = session.exec(select(Delivery)).all()
        assert len({d.idempotency_key for d in deliveries}) == len(deliveries)
        assert [d.status for d in deliveries].count("sent") == len(deliveries)
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        assert obligation.active_run_id is None, "the lease is given back at the end"
        assert obligation.last_flow_run_id == holder
        moves = session.exec(
            select(Event.payload)
            .where(Event.kind == "obligation.status")
            .where(col(Event.id) > events_before)
        ).all()
        assert len(moves) == 3, "planned → in progress → awaiting approval → in progress, once"
        assert audit.verify(session)[1] == []
    arrived = Counter(
        json.loads(path.read_text(encoding="utf-8"))["key"]
        for path in (register / "inbox").glob("*.json")
    )
    assert arrived == Counter(d.idempotency_key for d in deliveries), "one letter, one request"


def test_a_lease_left_by_a_run_prefect_does_not_know_is_taken_over_unless_it_runs_here(
    register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a lease that outlives its run: one left by a run of another Prefect server (an
    earlier `operative run` with its own local server) would lock the obligation for good, as
    would a run ended by the approval timeout that kept it. And catches the opposite: a run of
    another local server whose process still runs here is active, and keeps the obligation."""
    from flows.forward_to_pga import forward_to_pga

    ob = obligation_id("forward_to_pga")
    ghost = "5b3c0ad0-0000-4000-8000-000000000000"

    def lease_to(process: str) -> None:
        with session_scope() as session:
            obligation = session.get(Obligation, ob)
            assert obligation is not None
            obligation.active_run_id, obligation.active_process = ghost, process
            session.add(obligation)

    lease_to(processes.this_process())
    events = _events()
    assert forward_to_pga(ob, drafted_by="officer") == f"already running: {ghost}"
    assert _events() == events, "a refused run writes nothing"

    lease_to("another-host:4242:1")
    monkeypatch.setenv("OPERATIVE_APPROVAL_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    assert forward_to_pga(ob, drafted_by="officer") == "awaiting_approval"
    run = _last_run(ob)
    with session_scope() as session:
        taken = session.exec(select(Event).where(Event.kind == "obligation.run_taken_over")).all()
        assert [json.loads(e.payload) for e in taken] == [{"from": ghost, "to": run}]
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        assert obligation.active_run_id is None, "ended by the timeout, it gave the lease back"


def _outcome(state: Any) -> str:
    if isinstance(state, BaseException):
        return f"raised {state!r}"
    return str(state.result(raise_on_failure=False))


def _holder(ob: int) -> str | None:
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        return obligation.active_run_id


def _last_run(ob: int) -> str | None:
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        return obligation.last_flow_run_id


def _events() -> int:
    with session_scope() as session:
        return max(session.exec(select(Event.id)).all(), default=0) or 0
