"""Crash safety across the playbook flows: SIGKILL at seeded random points, then a re-run.

Each trial runs one playbook flow in a child process against the session's Prefect server,
with people deciding its approvals from this process (``ScriptedApprover``), and kills it with
SIGKILL once its progress — audit events plus messages arrived in the local inbox — reaches a
point drawn from a seeded generator: just after the obligation is claimed, between draft and
approval, while it waits, just after a decision, in the middle of a campaign to 175 Member
States, after it but before its step is recorded. The flow is then run again here until the
work due is done (and, for playbooks that close on a recorded fact, once more after it), and
the register is checked: nothing sent twice, nothing lost, no second approval, submission or
draft, a lifecycle path the obligation may take, an intact audit chain, and the run lease of
the killed run taken over and released at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from operative.core import audit
from operative.core import clock as calendar
from operative.core.db import normalise_url, session_scope
from operative.core.settings import REPO_ROOT, get_settings
from operative.models import (
    Approval,
    Delivery,
    DeliveryAttempt,
    Document,
    Event,
    Message,
    Obligation,
    ObligationStatus,
    StepRecord,
    Submission,
)
from operative.register import obligations, records
from tests.flows.conftest import ScriptedApprover, obligation_id, register_for_flows

MEMBER_STATES = 175
# About how many audit events a run makes before its messages start going out.
CONTROL_STEPS = 12

# The child: one playbook run as `operative run` would do it, on a stopped business clock.
CHILD = """
import sys
import pendulum
from flows import load_flow
from flows._prefect.runtime import flow_settings
from operative.core import clock as calendar
playbook, obligation, at = sys.argv[1], int(sys.argv[2]), pendulum.parse(sys.argv[3])
with flow_settings(), calendar.use_clock(lambda: at):
    print(load_flow(playbook)(obligation, drafted_by="officer"), flush=True)
"""


@dataclass(frozen=True)
class Scenario:
    """One playbook on one day of 2013, and what its runs must leave behind."""

    playbook: str
    at: pendulum.DateTime
    # What a run returns once the work due that day is done, and the fact that closes the
    # obligation afterwards (recorded by an officer), if any.
    resting: str
    closing_record: str | None = None
    # Who decides its approvals; a trial rejects the first draft now and then.
    approver: str | None = None
    # Audit events + inbox messages of an uninterrupted run approved at once (measured):
    # a kill point drawn below it lands before the run's end.
    span: int = 0
    # Messages each kind must have reached, one per recipient.
    expected: dict[str, int] = field(default_factory=dict)
    trials: int = 4
    prepare: Callable[[int], None] | None = None


def _utc(*when: int) -> pendulum.DateTime:
    return pendulum.datetime(*when, tz="UTC")


def _log_activities(ob: int) -> None:
    """Three engagements where migrants spoke: two lapses of more than 8 weeks to alert."""
    for day in (dt.date(2013, 1, 10), dt.date(2013, 5, 15), dt.date(2013, 6, 20)):
        at = pendulum.datetime(day.year, day.month, day.day, 12, tz="UTC")
        with calendar.use_clock(lambda at=at: at), session_scope() as session:
            records.add_activity(
                session,
                ob,
                occurred_on=day,
                kind="consultation",
                title=f"consultation on {day}",
                migrants_spoke=True,
                actor="officer",
                evidence_url=f"https://example.org/evidence/{day}",
            )


SCENARIOS = {
    s.playbook: s
    for s in (
        Scenario(
            "forward_to_pga",
            _utc(2012, 12, 3, 10),
            resting="awaiting_acknowledgement",
            closing_record="acknowledgement",
            approver="chair",
            span=12,
            expected={"transmittal": 1},
        ),
        Scenario(
            "national_positions",
            _utc(2013, 1, 15, 9),
            resting="collecting",
            span=178,
            expected={"invitation": MEMBER_STATES},
            trials=5,
        ),
        Scenario(
            "inform_member_states",
            _utc(2013, 3, 5, 9),
            resting="briefed",
            approver="dg",
            span=186,
            expected={"briefing": MEMBER_STATES},
        ),
        Scenario(
            "migrant_perspectives",
            _utc(2013, 10, 4, 16),
            resting="done",
            span=9,
            expected={"briefing": 2},
            prepare=_log_activities,
        ),
        Scenario(
            "lead_agency_statement",
            _utc(2013, 1, 15, 9),
            resting="awaiting_usage",
            closing_record="usage",
            approver="dg",
            span=187,
            expected={"briefing": MEMBER_STATES},
        ),
        Scenario(
            "track_obligation",
            _utc(2013, 10, 8, 9),
            resting="awaiting_evidence",
            closing_record="evidence",
            span=4,
            expected={"briefing": 1},
            trials=3,
        ),
    )
}
# Every trial on SQLite, the first of each playbook on PostgreSQL too.
TRIALS = [
    pytest.param("sqlite", name, n, id=f"sqlite-{name}-{n}")
    for name, s in SCENARIOS.items()
    for n in range(s.trials)
] + [
    pytest.param("postgres", name, 0, id=f"postgres-{name}-0", marks=pytest.mark.postgres)
    for name in SCENARIOS
]

# What every trial saw, for the summary printed at the end of the module (and README's table).
FIGURES: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    if FIGURES:
        kills = sum(1 for f in FIGURES if f["killed"])
        taken = sum(1 for f in FIGURES if f["taken_over"])
        resent = sum(f["sent_after_kill"] for f in FIGURES)
        print()
        for figure in FIGURES:
            print(figure)
        print(
            f"crash trials: {len(FIGURES)}, killed: {kills}, leases taken over: {taken}, "
            f"deliveries sent by the re-runs: {resent}, duplicated: 0, lost: 0"
        )


@pytest.fixture
def progress(register: Path) -> Iterator[Callable[[], int]]:
    """How far a run got: audit events + inbox files, read without SQLite's write lock."""
    engine = sa.create_engine(normalise_url(get_settings().effective_database_url))
    inbox = get_settings().data_dir / "inbox"

    def progress() -> int:
        with engine.connect() as connection:
            events = connection.execute(sa.text("SELECT count(*) FROM event")).scalar_one()
        files = len(list(inbox.glob("*.json"))) if inbox.is_dir() else 0
        return int(events) + files

    try:
        yield progress
    finally:
        engine.dispose()


def _script(scenario: Scenario, rng: random.Random) -> list[tuple[str, bool, str]]:
    if scenario.approver is None:
        return []
    script = [(scenario.approver, True, "")]
    if rng.random() < 0.4:
        script.insert(0, (scenario.approver, False, "Cite GA resolution 65/170 as well"))
    return script


def _obligation_for(scenario: Scenario) -> int:
    if scenario.playbook != "track_obligation":
        ob = obligation_id(scenario.playbook)
    else:
        # 1244 has no paragraph of its own for the generic playbook: OP1, reassigned to it.
        ob = obligation_id("inform_member_states")
        with session_scope() as session:
            obligations.reassign(session, ob, "track_obligation", actor="officer")
    if scenario.prepare is not None:
        scenario.prepare(ob)
    return ob


def _holder(ob: int) -> str | None:
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        return obligation.active_run_id


def _run_here(scenario: Scenario, ob: int) -> str:
    from flows import load_flow

    with calendar.use_clock(lambda: scenario.at):
        return str(load_flow(scenario.playbook)(ob, drafted_by="officer"))


@pytest.fixture
def register(
    request: pytest.FixtureRequest, prefect_server: str, isolated_env: Path, database: str
) -> Iterator[Path]:
    """1244 in a fresh register (SQLite, or a fresh PostgreSQL database) with flow settings on."""
    from flows._prefect.runtime import flow_settings

    if database == "postgres":
        os.environ["OPERATIVE_DATABASE_URL"] = request.getfixturevalue("postgres_url")
        get_settings.cache_clear()
    try:
        register_for_flows()
        with flow_settings():
            yield isolated_env
    finally:
        os.environ.pop("OPERATIVE_DATABASE_URL", None)
        get_settings.cache_clear()


@pytest.mark.parametrize(("database", "playbook", "trial"), TRIALS)
def test_a_flow_killed_at_a_random_point_completes_on_rerun_with_nothing_lost_or_twice(
    register: Path,
    progress: Callable[[], int],
    tmp_path: Path,
    database: str,
    playbook: str,
    trial: int,
) -> None:
    """Catches a step whose side effect and completion record are not one unit (a crash in
    between sends, drafts, asks or invites twice on the re-run), a message lost between the
    outbox and the channel, a lifecycle move the re-run makes from a state it may not leave,
    and a run lease the killed run keeps, so that no later run could work on the obligation."""
    scenario = SCENARIOS[playbook]
    rng = random.Random(f"{database}:{playbook}:{trial}")
    ob = _obligation_for(scenario)
    baseline = progress()
    # Half the kills among the first steps (claim, draft, approval, wait, decision), half
    # anywhere, which for a campaign mostly means in the middle of its 175 messages.
    early = min(scenario.span - 1, CONTROL_STEPS)
    kill_at = baseline + rng.randint(1, early if rng.random() < 0.5 else scenario.span - 1)
    log = tmp_path / "child.log"
    with ScriptedApprover(_script(scenario, rng), wait_paused=True) as approver:
        with log.open("wb") as output:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, playbook, str(ob), scenario.at.isoformat()],
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + 120
                while progress() < kill_at and child.poll() is None:
                    assert time.monotonic() < deadline, f"no progress: {log.read_text()}"
                    time.sleep(0.005)
                killed = child.poll() is None
                child.send_signal(signal.SIGKILL)
            finally:
                if child.poll() is None:
                    child.kill()
                child.wait()
        assert killed, f"the run ended before its kill point: {log.read_text()[-2000:]}"
        reached = progress()
        holder_at_kill = _holder(ob)
        sent_at_kill = _sent_count()

        outcome = _run_here(scenario, ob)
        assert outcome == scenario.resting, f"killed at {reached}: the re-run gave {outcome}"
    assert approver.errors == []
    _check_register(ob, scenario, register)

    if scenario.closing_record is not None:
        with calendar.use_clock(lambda: scenario.at), session_scope() as session:
            records.add_record(
                session, ob, kind=scenario.closing_record, text="Recorded", actor="officer"
            )
        assert _run_here(scenario, ob) == "done"
        _check_register(ob, scenario, register)
    with session_scope() as session:
        final = session.get(Obligation, ob)
        assert final is not None
        closes = scenario.closing_record is not None or scenario.resting == "done"
        assert final.status == ("done" if closes else "in_progress")
        taken_over = session.exec(
            select(Event).where(
                Event.kind == "obligation.run_taken_over", Event.subject == f"obligation:{ob}"
            )
        ).all()
    assert (len(taken_over) == 1) == (holder_at_kill is not None), (
        f"the killed run held the lease: {holder_at_kill}; taken over: {len(taken_over)}"
    )
    if taken_over:
        assert json.loads(taken_over[0].payload)["from"] == holder_at_kill
    FIGURES.append(
        {
            "trial": f"{database}-{playbook}-{trial}",
            "killed": killed,
            "taken_over": bool(taken_over),
            "units": f"{reached - baseline}/{scenario.span}",
            "sent_before_kill": sent_at_kill,
            "sent_after_kill": _sent_count() - sent_at_kill,
        }
    )


def _sent_count() -> int:
    with session_scope() as session:
        return len(session.exec(select(Delivery.id).where(Delivery.status == "sent")).all())


def _check_register(ob: int, scenario: Scenario, data_dir: Path) -> None:
    """Every invariant a crash and a re-run must keep, read from the register and the inbox."""
    with session_scope() as session:
        deliveries = session.exec(select(Delivery)).all()
        messages = {m.id: m for m in session.exec(select(Message)).all()}
        approvals = session.exec(select(Approval).where(Approval.obligation_id == ob)).all()
        documents = session.exec(select(Document).where(Document.obligation_id == ob)).all()
        submissions = session.exec(
            select(Submission.member_state_iso3).where(Submission.obligation_id == ob)
        ).all()
        sent_attempts = session.exec(
            select(DeliveryAttempt.delivery_id).where(DeliveryAttempt.outcome == "sent")
        ).all()
        moves = session.exec(
            select(Event.payload)
            .where(Event.kind == "obligation.status", Event.subject == f"obligation:{ob}")
            .order_by(col(Event.id))
        ).all()
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        steps = session.exec(
            select(StepRecord.step, StepRecord.cycle).where(StepRecord.obligation_id == ob)
        ).all()
        count, breaks = audit.verify(session)

    # No delivery twice: one key, one (message, recipient, channel), one send each.
    keys = Counter(d.idempotency_key for d in deliveries)
    assert [k for k, n in keys.items() if n > 1] == []
    targets = Counter((d.message_id, d.recipient, d.channel) for d in deliveries)
    assert [t for t, n in targets.items() if n > 1] == []
    assert [d for d, n in Counter(sent_attempts).items() if n > 1] == [], "sent twice"
    # Nothing lost: every delivery sent, each arrived once, and nothing arrived unrecorded.
    assert [d.idempotency_key for d in deliveries if d.status != "sent"] == []
    arrived = Counter(
        json.loads(path.read_text(encoding="utf-8"))["key"]
        for path in (data_dir / "inbox").glob("*.json")
    )
    assert arrived == Counter(d.idempotency_key for d in deliveries)
    by_kind = Counter(messages[d.message_id].kind for d in deliveries)
    for kind, expected in scenario.expected.items():
        assert by_kind[kind] == expected, f"{kind}: {by_kind[kind]} delivered, {expected} due"

    # No second approval, draft or submission for the same thing.
    asked = Counter((a.step, a.cycle, a.attempt) for a in approvals)
    assert [a for a, n in asked.items() if n > 1] == []
    for step, cycle in {(a.step, a.cycle) for a in approvals}:
        attempts = sorted(
            (a.attempt, a.decision) for a in approvals if (a.step, a.cycle) == (step, cycle)
        )
        assert [n for n, _ in attempts] == list(range(1, len(attempts) + 1))
        assert all(d == "rejected" for _, d in attempts[:-1]), attempts
    versions = Counter((d.kind, d.cycle, d.version) for d in documents)
    assert [v for v, n in versions.items() if n > 1] == []
    assert len(documents) == len(approvals) + (scenario.playbook == "migrant_perspectives")
    assert Counter(submissions) == Counter(set(submissions))
    if scenario.playbook == "national_positions":
        assert len(submissions) == MEMBER_STATES
    assert Counter(steps) == Counter(set(steps))

    # A lifecycle path the obligation may take, ending where it stands.
    path = [json.loads(p) for p in moves]
    state = ObligationStatus.planned
    for move in path:
        assert move["from"] == state, path
        assert ObligationStatus(move["to"]) in obligations.TRANSITIONS[state], path
        state = ObligationStatus(move["to"])
    assert state == obligation.status

    assert breaks == [] and count > 0
    # The lease: the last run gave it back.
    assert obligation.active_run_id is None, f"lease left with {obligation.active_run_id}"
