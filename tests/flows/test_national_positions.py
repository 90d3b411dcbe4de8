"""national_positions on a real Prefect server, replaying 2013 on the business clock.

1244's national positions are due on 8 August 2013 at 18:00 in Geneva (the HLD minus 56 days).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import pendulum
from sqlmodel import col, select

from flows.national_positions import national_positions
from operative.core import audit
from operative.core.db import session_scope
from operative.core.settings import REPO_ROOT
from operative.models import (
    Approval,
    MemberState,
    Message,
    StepRecord,
    Submission,
)
from operative.notify.inbox import list_inbox
from operative.playbooks import national_positions as positions
from tests.factories import deliveries_of
from tests.flows.conftest import artifacts_of, obligation, obligation_id, on

DEADLINE = pendulum.datetime(2013, 8, 8, 16, 0, tz="UTC")
LINK = re.compile(r"/portal/([A-Za-z0-9_.-]+)")


def inbox_of(kind: str) -> list[dict[str, Any]]:
    keys = {d.idempotency_key for d in deliveries_of(kind)}
    return [m for m in list_inbox() if m["key"] in keys]


def active_states() -> dict[str, MemberState]:
    with session_scope() as session:
        return {s.iso3: s for s in session.exec(select(MemberState).where(col(MemberState.active)))}


def test_invitations_reach_every_state_once_in_its_language_with_its_own_link(
    flows_env: Path,
) -> None:
    """Each mission gets one invitation it can read, carrying a link that opens only its page."""
    ob = obligation_id("national_positions")
    states = active_states()
    assert len(states) == 175
    with on(2013, 1, 15, 9) as now:
        assert national_positions(ob) == "collecting"
        assert national_positions(ob) == "collecting"

    sent = deliveries_of("invitation")
    assert sorted(d.recipient for d in sent) == sorted(states)
    assert len({d.message_id for d in sent}) == 1, "one message, one delivery per state"
    for delivery in sent:
        assert delivery.status == "sent"
        assert delivery.language == states[delivery.recipient].language
        found = LINK.search(delivery.body)
        assert found, delivery.body
        assert positions.read_portal_token(found.group(1), at=now) == (ob, delivery.recipient)
    languages = {d.language for d in sent}
    assert languages == {"en", "fr", "es"}
    by_language = {d.language: d for d in sent}
    assert "Secrétariat" in by_language["fr"].body and "Secretaría" in by_language["es"].body

    received = inbox_of("invitation")
    assert Counter(m["recipient"] for m in received) == Counter(list(states)), "once each"
    assert len(list_inbox()) == 175, "the second run sent nothing"

    with session_scope() as session:
        rows = session.exec(select(Submission).where(Submission.obligation_id == ob)).all()
        assert len(rows) == 175 and all(r.invited_at == now for r in rows)
        assert len(session.exec(select(StepRecord).where(StepRecord.step == "invited")).all()) == 1
        assert audit.verify(session)[1] == []
    record = obligation(ob)
    assert (record.status, record.progress) == ("in_progress", 20)
    assert record.last_flow_run_id
    kinds = Counter(a.type for a in artifacts_of(record.last_flow_run_id))
    assert kinds["progress"] and kinds["table"] and kinds["markdown"]


def test_reminders_go_once_per_stage_to_non_submitters_and_done_needs_deadline_and_reviews(
    flows_env: Path,
) -> None:
    """Missions that answered are not chased, the others hear once at each stage of
    config/reminders.yaml; the campaign closes only when nothing is left."""
    ob = obligation_id("national_positions")
    early = ["ARG", "FRA", "KEN"]
    with on(2013, 1, 15, 9):
        national_positions(ob)
    with on(2013, 6, 1, 9), session_scope() as session:
        for code in early:
            positions.submit(session, ob, code, text=f"Position of {code}", actor=code)
    with on(2013, 7, 20, 9):
        assert national_positions(ob) == "collecting"
    assert deliveries_of("reminder") == [], "too early for the ten-day reminder (24 July)"

    with on(2013, 7, 26, 9):
        assert national_positions(ob) == "collecting"
    with on(2013, 7, 28, 9):
        assert national_positions(ob) == "collecting"
    reminded = deliveries_of("reminder")
    assert len(reminded) == 172 and not {d.recipient for d in reminded} & set(early)
    assert all(d.status == "sent" for d in reminded)
    assert "13 days" in next(d.body for d in reminded if d.language == "en")
    assert Counter(m["recipient"] for m in inbox_of("reminder")) == Counter(
        d.recipient for d in reminded
    ), "each non-submitter reminded exactly once"
    with session_scope() as session:
        stamped = session.exec(
            select(Submission.member_state_iso3).where(col(Submission.reminded_at).is_not(None))
        ).all()
        assert len(stamped) == 172 and not set(stamped) & set(early)
        for code in early:
            positions.review(session, ob, code, verdict="reflects", reviewer="officer")

    with on(2013, 8, 1, 9):
        assert national_positions(ob) == "collecting", "all reviewed, but the deadline is ahead"
    assert obligation(ob).status == "in_progress"
    assert len(deliveries_of("reminder")) == 2 * 172, "the five-day stage, once to each"

    with on(2013, 8, 9, 9), session_scope() as session:
        positions.submit(session, ob, "PER", text="Late but welcome", actor="PER")
    with on(2013, 8, 9, 10):
        assert national_positions(ob) == "awaiting_review"
    assert obligation(ob).progress == 95  # 80 + 20 x 3 of 4 reviewed
    with on(2013, 8, 12, 9), session_scope() as session:
        positions.review(session, ob, "PER", verdict="partially", reviewer="officer2")
    with on(2013, 8, 12, 10):
        assert national_positions(ob) == "done"
        assert national_positions(ob) == "done"
    record = obligation(ob)
    assert (record.status, record.progress) == ("done", 100)
    assert record.last_flow_run_id
    summary = next(a for a in artifacts_of(record.last_flow_run_id) if a.type == "markdown").data
    assert "| positions received | 4 (2%) |" in summary
    assert "| partially reflects it | 1 |" in summary


def _flow_in_child(ob: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    script = (
        "import pendulum\n"
        "from flows.national_positions import national_positions\n"
        "from flows._prefect.runtime import flow_settings\n"
        "from operative.core import clock as calendar\n"
        "moment = pendulum.datetime(2013, 1, 15, 9, tz='UTC')\n"
        "with flow_settings(), calendar.use_clock(lambda: moment):\n"
        f"    national_positions({ob})\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_flow_killed_during_invitations_finishes_on_rerun_without_duplicates(
    flows_env: Path, tmp_path: Path
) -> None:
    """A crash mid-campaign must neither lose a mission's invitation nor send it twice."""
    ob = obligation_id("national_positions")
    inbox = flows_env / "inbox"
    kill_after = random.randint(1, 150)
    log = tmp_path / "child.log"
    with log.open("wb") as output:
        child = _flow_in_child(ob, output)
        try:
            deadline = time.monotonic() + 60
            while len(list(inbox.glob("*.json"))) < kill_after:
                assert child.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the invitations did not start"
                time.sleep(0.002)
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
    arrived = len(list(inbox.glob("*.json")))
    assert arrived < 175, f"killed after {kill_after} but all {arrived} had arrived: no crash"
    with session_scope() as session:
        assert session.exec(select(StepRecord)).all() == []

    with on(2013, 1, 15, 9):
        assert national_positions(ob) == "collecting"
    sent = deliveries_of("invitation")
    assert len(sent) == 175 and all(d.status == "sent" for d in sent)
    assert Counter(m["recipient"] for m in inbox_of("invitation")) == Counter(
        list(active_states())
    ), f"killed after {kill_after} invitations: each state has exactly one"
    with session_scope() as session:
        assert len(session.exec(select(Submission)).all()) == 175
        assert len(session.exec(select(Message)).all()) == 1
        assert session.exec(select(Approval)).all() == []
        assert len(session.exec(select(StepRecord)).all()) == 1


def test_a_campaign_started_after_a_reminder_stage_sends_no_reminder_for_it(
    flows_env: Path,
) -> None:
    """An invitation sent after the ten-day stage already names the deadline: that stage's
    reminder, the same day, would be noise."""
    ob = obligation_id("national_positions")
    with on(2013, 7, 30, 9):
        assert national_positions(ob) == "collecting"
        assert national_positions(ob) == "collecting"
    assert len(deliveries_of("invitation")) == 175
    assert deliveries_of("reminder") == []
    with session_scope() as session:
        stamped = select(Submission).where(col(Submission.reminded_at).is_not(None))
        assert session.exec(stamped).all() == []
