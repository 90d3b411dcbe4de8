"""A served (deployed) playbook run waits for its approval suspended, holding no process, and is
run again from the top once resumed: it sends nothing twice and drafts nothing twice."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from tests.factories import register_1244


def _wait_for(client: Any, run_id: Any, names: set[str], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.name in names:
            return run
        time.sleep(0.3)
    pytest.fail(f"run {run_id} never reached {names}: {run.state}")


@contextmanager
def _served_letter() -> Iterator[tuple[Any, Any, int]]:
    """OP5's playbook served, one run of it started and suspended at the chair's approval;
    yields the Prefect client, the run and the obligation's id."""
    from prefect import get_client

    from flows._prefect.serve import Service, load_specs
    from operative.core.db import session_scope

    with session_scope() as session:
        obligation_id = register_1244(session, people={"chair": ["chair"]})["forward_to_pga"]
    spec = next(s for s in load_specs() if s.name == "forward-to-pga")
    service = Service([spec], poll_seconds=0.5)
    service.start()
    try:
        with get_client(sync_client=True) as client:
            run = client.create_flow_run_from_deployment(
                service.deployment_ids["forward_to_pga/forward-to-pga"],
                parameters={"obligation_id": obligation_id, "drafted_by": "officer"},
            )
            suspended = _wait_for(client, run.id, {"Suspended"})
            assert suspended.state.is_paused()
            yield client, run, obligation_id
    finally:
        assert service.stop()
    assert service.failure is None
    gc.collect()  # the Runner's leftover transports are collected here, under the test's filter


# Prefect 3.9.1's Runner leaves asyncio socket transports to the API unclosed when its event
# loop ends after runs have executed (see test_scheduler.py).
RUNNER_LEFTOVERS = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    "ignore:Exception ignored in. <function _SelectorTransport.__del__"
    ":pytest.PytestUnraisableExceptionWarning",
)


@RUNNER_LEFTOVERS
def test_a_served_run_waits_suspended_refuses_a_forged_input_and_finishes_once_approved(
    scheduler_server: str, isolated_env: Path
) -> None:
    """A deployed run that held its process while waiting would tie up a worker for the days
    a decision takes; suspended, it must still accept only a signed decision, and its re-run
    from the top must not draft, ask or send a second time."""
    from prefect.flow_runs import resume_flow_run

    from flows._prefect.runtime import deliver_decision
    from operative.core import audit
    from operative.core.db import session_scope
    from operative.models import Approval, Document, Message, Obligation
    from operative.register import approvals

    with _served_letter() as (client, run, obligation_id):
        with session_scope() as session:
            [approval] = session.exec(select(Approval)).all()
            assert approval.flow_run_id == str(run.id) and approval.decision is None
            status = session.get(Obligation, obligation_id).status  # type: ignore[union-attr]
            assert status == "awaiting_approval"

        # Typed into Prefect's form: a well-formed input with a token nobody signed.
        resume_flow_run(run.id, run_input={"approval_id": approval.id, "token": "forged"})
        _wait_for(client, run.id, {"Running", "Resuming", "Scheduled"}, timeout=30)
        again = _wait_for(client, run.id, {"Suspended"})
        assert again.state.is_paused()
        with session_scope() as session:
            assert approvals.get(session, approval.id or 0).decision is None

        with session_scope() as session:
            decided = approvals.decide(
                session, approval.id or 0, username="chair", approve=True, reason=""
            )
            session.commit()
        outcome = deliver_decision(isolated_env, str(run.id), approval.id or 0, decided.token)
        assert outcome == "the waiting run was resumed"
        done = _wait_for(client, run.id, {"Completed", "Failed", "Crashed"})
        assert done.state.name == "Completed"

    with session_scope() as session:
        assert [a.decision for a in session.exec(select(Approval))] == ["approved"]
        assert len(session.exec(select(Document)).all()) == 1
        keys = sorted(session.exec(select(Message.key).order_by(col(Message.id))).all())
        obligation = session.get(Obligation, obligation_id)
        checked, breaks = audit.verify(session)
    assert len([k for k in keys if k.endswith(":request")]) == 1, keys
    assert obligation is not None and obligation.status == "in_progress"
    assert obligation.progress == 80
    inbox = [json.loads(p.read_text()) for p in (isolated_env / "inbox").glob("*.json")]
    assert len([m for m in inbox if m.get("attachments")]) == 1, "one transmittal to the PGA"
    assert checked > 0 and breaks == []


@RUNNER_LEFTOVERS
def test_the_sweep_resumes_a_suspended_run_whose_decision_reached_nobody(
    scheduler_server: str, isolated_env: Path
) -> None:
    """Decided while serve was down, `approve` reaches no server and the run would stay
    suspended for ever, the decision sitting in the register: the sweep must resume it."""
    from operative.core.db import session_scope
    from operative.models import Approval, Obligation
    from operative.register import approvals
    from tasks.reminders import resume_decided_runs

    with _served_letter() as (client, run, obligation_id):
        assert resume_decided_runs.fn() == 0, "nothing is decided yet"
        with session_scope() as session:
            [approval] = session.exec(select(Approval)).all()
            approvals.decide(session, approval.id or 0, username="chair", approve=True)
            session.commit()
        assert resume_decided_runs.fn() == 1
        done = _wait_for(client, run.id, {"Completed", "Failed", "Crashed"})
        assert done.state.name == "Completed"
        assert resume_decided_runs.fn() == 0, "a finished run is not resumed again"
    with session_scope() as session:
        assert session.get(Obligation, obligation_id).progress == 80  # type: ignore[union-attr]
