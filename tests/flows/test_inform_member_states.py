"""inform_member_states on a real Prefect server, replaying 2012–2013 on the business clock.

1244 was adopted on 27 November 2012; cycle k is the month from the 27th, k months later;
the High-level Dialogue opens on 3 October 2013, so cycle 10 (from 27 September) is the last.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pendulum
from sqlmodel import col, select

from flows.inform_member_states import inform_member_states
from operative.core import audit
from operative.core.db import session_scope
from operative.models import Approval, Delivery, Document, Message
from operative.notify.inbox import list_inbox
from operative.playbooks import inform_member_states as briefings
from operative.register import users
from tests.flows.conftest import (
    ScriptedApprover,
    artifacts_of,
    four_eyes,
    obligation,
    obligation_id,
    on,
)

GENEVA = "Europe/Zurich"


def briefings_sent() -> dict[str, list[Delivery]]:
    """Deliveries of briefing messages, by message key."""
    with session_scope() as session:
        rows = session.exec(
            select(Delivery, Message)
            .join(Message, col(Delivery.message_id) == Message.id)
            .where(Message.kind == "briefing")
        ).all()
    found: dict[str, list[Delivery]] = {}
    for delivery, message in rows:
        found.setdefault(message.key, []).append(delivery)
    return found


def test_cycles_are_whole_months_from_adoption_until_the_dialogue() -> None:
    """A briefing per month, the last one in the month before the Dialogue opens."""
    plan = briefings.schedule(
        dt.date(2012, 11, 27), end=dt.date(2013, 10, 3), due_at=None, tz=GENEVA
    )
    geneva = pendulum.timezone(GENEVA)
    assert plan.cycle_at(pendulum.datetime(2012, 11, 26, 23, tz=geneva)) == -1
    assert plan.cycle_at(pendulum.datetime(2012, 11, 27, tz=geneva)) == 0
    assert plan.cycle_at(pendulum.datetime(2012, 12, 26, 23, 59, tz=geneva)) == 0
    assert plan.cycle_at(pendulum.datetime(2012, 12, 27, tz=geneva)) == 1
    assert plan.cycle_at(pendulum.datetime(2013, 2, 28, tz=geneva)) == 3
    assert plan.last_cycle == 10
    assert plan.current(pendulum.datetime(2014, 1, 1, tz="UTC")) == 10
    assert not plan.ended(pendulum.datetime(2013, 10, 2, 21, 59, tz="UTC"))
    assert plan.ended(pendulum.datetime(2013, 10, 2, 22, 0, tz="UTC"))


def test_two_cycles_each_approved_once_and_sent_to_every_state_in_its_language(
    flows_env: Path,
) -> None:
    """Each month's briefing goes out once, as approved, in the language each mission reads."""
    ob = obligation_id("inform_member_states")
    script = [("dg", False, "Mention the Dialogue dates"), ("dg", True, "")]
    with on(2012, 12, 3, 9), ScriptedApprover(script, wait_paused=True) as approver:
        assert inform_member_states(ob, drafted_by="officer") == "briefed"
    assert approver.errors == [] and approver.script == []
    with on(2012, 12, 20, 9):
        assert inform_member_states(ob, drafted_by="officer") == "briefed"
    with on(2013, 1, 5, 9), ScriptedApprover([("dg", True, "")]) as approver:
        assert inform_member_states(ob, drafted_by="officer") == "briefed"
    assert approver.errors == [] and approver.script == []
    with on(2013, 1, 20, 9):
        assert inform_member_states(ob, drafted_by="officer") == "briefed"

    sent = briefings_sent()
    assert sorted(sent) == [
        f"obligation:{ob}:briefing:cycle:0",
        f"obligation:{ob}:briefing:cycle:1",
    ]
    for deliveries in sent.values():
        assert len(deliveries) == 175 and all(d.status == "sent" for d in deliveries)
        assert len({d.recipient for d in deliveries}) == 175
    keys = {d.idempotency_key for ds in sent.values() for d in ds}
    arrived = Counter(m["recipient"] for m in list_inbox() if m["key"] in keys)
    assert set(arrived.values()) == {2} and len(arrived) == 175, "one briefing per cycle each"

    first = {d.language: d.body for d in sent[f"obligation:{ob}:briefing:cycle:0"]}
    assert "Paragraph 4 – National positions of Member States: not started" in first["en"]
    assert "Paragraphe 4 – Positions nationales des États Membres\u00a0: pas encore" in first["fr"]
    assert "Párrafo 4 – Posiciones nacionales de los Estados Miembros: no iniciado" in first["es"]
    assert "Paragraph " not in first["fr"] and "Paragraph " not in first["es"]

    with session_scope() as session:
        decided = session.exec(
            select(Approval).order_by(col(Approval.cycle), col(Approval.attempt))
        ).all()
        assert [(a.cycle, a.attempt, a.decision, a.decided_by) for a in decided] == [
            (0, 1, "rejected", "dg"),
            (0, 2, "approved", "dg"),
            (1, 1, "approved", "dg"),
        ]
        # Cycle 0's decisions were taken once the run had paused, so they reached it by token.
        assert all(a.token_used_at is not None for a in decided if a.cycle == 0)
        drafts = session.exec(
            select(Document).order_by(col(Document.cycle), col(Document.version))
        ).all()
        assert [(d.kind, d.cycle, d.version, d.note) for d in drafts] == [
            ("briefing", 0, 1, None),
            ("briefing", 0, 2, "Mention the Dialogue dates"),
            ("briefing", 1, 1, None),
        ]
        approved = briefings.read_document(drafts[1].body)
        assert approved.texts["fr"] in first["fr"], "what went out is what was approved"
        assert audit.verify(session)[1] == []
    record = obligation(ob)
    assert record.status == "in_progress" and record.progress == 18  # 2 of 11 cycles
    assert record.last_flow_run_id
    kinds = Counter(a.type for a in artifacts_of(record.last_flow_run_id))
    assert kinds["progress"] and kinds["table"] and kinds["markdown"]


def test_briefings_end_once_the_dialogue_opens_after_the_last_cycle(flows_env: Path) -> None:
    """The obligation is done only when the last briefing before the Dialogue has gone out."""
    ob = obligation_id("inform_member_states")
    with on(2013, 10, 1, 9), ScriptedApprover([("dg", True, "")]):
        assert inform_member_states(ob) == "briefed"
    with on(2013, 10, 3, 9):
        assert inform_member_states(ob) == "done"
        assert inform_member_states(ob) == "done"
    assert list(briefings_sent()) == [f"obligation:{ob}:briefing:cycle:10"]
    record = obligation(ob)
    assert (record.status, record.progress) == ("done", 100)
    assert record.last_flow_run_id
    summary = next(a for a in artifacts_of(record.last_flow_run_id) if a.type == "markdown").data
    assert "11 in all, 1 briefing(s) sent" in summary


def test_briefing_approval_by_its_drafter_or_another_role_is_refused(flows_env: Path) -> None:
    """Four-eyes on briefings: the DG's office decides, and not on its own draft."""
    with session_scope() as session:
        users.add_user(session, "dg2", name="Dg2", roles=["director_general"])
    ob = obligation_id("inform_member_states")
    refused = ["officer", "chair"]
    with (
        on(2013, 2, 1, 9),
        four_eyes("dg", refused=refused, decider="dg2", role="director_general"),
    ):
        assert inform_member_states(ob, drafted_by="dg") == "briefed"
    with session_scope() as session:
        approval = session.exec(select(Approval)).one()
        assert (approval.cycle, approval.decided_by) == (2, "dg2")
    assert [len(d) for d in briefings_sent().values()] == [175]
