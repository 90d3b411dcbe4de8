"""lead_agency_statement on a real Prefect server: affirmation, approval, circulation, usage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from flows.lead_agency_statement import lead_agency_statement
from operative.core import audit
from operative.core.db import session_scope
from operative.core.settings import REPO_ROOT
from operative.models import (
    Approval,
    Delivery,
    Document,
    Event,
    MemberState,
    Message,
    Obligation,
    Record,
)
from operative.register import records, users
from tests.flows.conftest import (
    ScriptedApprover,
    artifacts_of,
    four_eyes,
    obligation_id,
    officer_records,
)

CIRCULATION = "obligation:{}:statement:circulation"

# The child runs the flow as a deployed worker would. Its inbox channel is slowed down (the
# real plugin, with a pause before each write) so that the kill lands mid-dispatch.
CHILD = """
import sys, time
from operative.notify import inbox
_write_once = inbox._write_once
def _slow_write_once(path, data):
    time.sleep(0.05)
    return _write_once(path, data)
inbox._write_once = _slow_write_once
from flows._prefect.runtime import flow_settings
from flows.lead_agency_statement import lead_agency_statement
with flow_settings():
    print(lead_agency_statement(int(sys.argv[1]), drafted_by="officer"))
"""


def _member_states() -> set[str]:
    with session_scope() as session:
        return set(session.exec(select(MemberState.iso3).where(col(MemberState.active))).all())


def _circulated(data_dir: Path) -> list[dict[str, Any]]:
    states = _member_states()
    inbox = [json.loads(p.read_text()) for p in (data_dir / "inbox").glob("*.json")]
    return [m for m in inbox if m["recipient"] in states]


def _circulation_deliveries(ob: int) -> list[Delivery]:
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.key == CIRCULATION.format(ob))).one()
        return list(session.exec(select(Delivery).where(Delivery.message_id == message.id)).all())


def test_statement_approved_after_a_rejection_is_circulated_once_and_done_after_its_use(
    flows_env: Path,
) -> None:
    """The whole of OP3: affirmation, DG approval after a redraft, one notice per State, use."""
    ob = obligation_id("lead_agency_statement")
    script = [("dg", False, "Mention the Global Migration Group"), ("dg", True, "")]
    with ScriptedApprover(script, wait_paused=True) as approver:
        assert lead_agency_statement(ob, drafted_by="officer") == "awaiting_usage"
    assert approver.errors == []

    with session_scope() as session:
        drafts = session.exec(select(Document).order_by(col(Document.version))).all()
        assert [(d.kind, d.version) for d in drafts] == [("statement", 1), ("statement", 2)]
        assert drafts[1].note == "Mention the Global Migration Group"
        assert "global lead agency on migration" in drafts[1].body
        assert "3–4 October 2013" in drafts[1].title
        decided = session.exec(select(Approval).order_by(col(Approval.attempt))).all()
        assert [(a.role_asked, a.decision, a.decided_by) for a in decided] == [
            ("director_general", "rejected", "dg"),
            ("director_general", "approved", "dg"),
        ]
        affirmations = records.records(session, ob, "affirmation")
        assert len(affirmations) == 1 and "IOM Council affirmed" in affirmations[0].text

    states = _member_states()
    assert len(states) == 175
    deliveries = _circulation_deliveries(ob)
    assert sorted(d.recipient for d in deliveries) == sorted(states)
    assert all(d.status == "sent" for d in deliveries)
    by_language = {d.language: d for d in deliveries}
    assert set(by_language) == {"en", "fr", "es"}
    assert "en anglais, figure ci-après" in by_language["fr"].body
    assert "en inglés, figura a continuación" in by_language["es"].body
    assert all("Paragraph 3 of that resolution reads" in d.body for d in by_language.values())
    circulated = _circulated(flows_env)
    assert len(circulated) == 175

    assert lead_agency_statement(ob, drafted_by="officer") == "awaiting_usage"
    assert len(_circulated(flows_env)) == 175, "a re-run circulates nothing again"

    officer_records(
        ob, "usage", "Quoted in IOM's statement to the plenary of the High-level Dialogue"
    )
    assert lead_agency_statement(ob, drafted_by="officer") == "done"
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None and (obligation.status, obligation.progress) == ("done", 100)
        run_id = obligation.last_flow_run_id
        kinds = set(session.exec(select(Event.kind)).all())
        assert {"record.affirmation", "record.usage", "approval.rejected", "approval.approved"} <= (
            kinds
        )
        assert audit.verify(session)[1] == []
    assert run_id is not None
    assert f"obligation-{ob}-people" in {a.key for a in artifacts_of(run_id)}


def test_the_drafter_and_users_without_the_directors_role_cannot_approve_the_statement(
    flows_env: Path,
) -> None:
    """Four-eyes: a DG-office user who drafted it, a chair or an officer is refused."""
    ob = obligation_id("lead_agency_statement")
    with session_scope() as session:
        users.add_user(session, "dg2", name="Dg2", roles=["director_general"])
    refused = ["chair", "officer"]
    with four_eyes("dg", refused=refused, decider="dg2", role="director_general"):
        assert lead_agency_statement(ob, drafted_by="dg") == "awaiting_usage"
    with session_scope() as session:
        approval = session.exec(select(Approval)).one()
        assert (approval.decision, approval.decided_by) == ("approved", "dg2")


def test_a_run_killed_during_circulation_completes_with_one_notice_per_state(
    flows_env: Path,
) -> None:
    """After a crash mid-dispatch, a re-run sends what is missing and nothing twice."""
    ob = obligation_id("lead_agency_statement")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ob)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with ScriptedApprover([("dg", True, "")], wait_paused=True) as approver:
            deadline = time.monotonic() + 45
            while len(_circulated(flows_env)) < 20:
                assert child.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "the circulation did not start"
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        assert approver.errors == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    delivered_before = len(_circulated(flows_env))
    assert delivered_before < 175, "killed mid-way: some States were still to be sent"
    assert lead_agency_statement(ob, drafted_by="officer") == "awaiting_usage"

    circulated = _circulated(flows_env)
    assert sorted(m["recipient"] for m in circulated) == sorted(_member_states())
    deliveries = _circulation_deliveries(ob)
    assert len(deliveries) == 175 and all(d.status == "sent" for d in deliveries)
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Approval)).one() == 1
        assert session.exec(select(func.count()).select_from(Document)).one() == 1
        assert (
            session.exec(
                select(func.count()).select_from(Record).where(Record.kind == "affirmation")
            ).one()
            == 1
        )
