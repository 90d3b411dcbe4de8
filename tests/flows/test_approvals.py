"""Approvals: tokens that are forged, replayed or for another approval decide nothing; a timed-out
approval escalates and leaves the obligation awaiting approval, with the run completed."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlmodel import select

from flows._prefect.runtime import resume_with_decision
from flows.forward_to_pga import forward_to_pga
from operative.core import clock, tokens
from operative.core.db import session_scope
from operative.core.settings import get_settings
from operative.models import Approval, Delivery, Message, Obligation
from operative.register import approvals
from tests.flows.conftest import _is_paused, obligation_id, run_in_thread


def _wait(predicate: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _pending_paused() -> Approval | None:
    with session_scope() as session:
        waiting = approvals.pending(session)
    if waiting and waiting[0].flow_run_id and _is_paused(waiting[0].flow_run_id):
        return waiting[0]
    return None


def test_forged_and_foreign_tokens_leave_the_run_waiting_until_a_real_decision(
    flows_env: Path,
) -> None:
    """Prefect's resume form has no access control: only a token minted by `decide` may count."""
    ob = obligation_id("forward_to_pga")
    thread, box = run_in_thread(lambda: forward_to_pga(ob, drafted_by="officer"))
    _wait(lambda: _pending_paused() is not None)
    approval = _pending_paused()
    assert approval is not None and approval.id is not None and approval.flow_run_id
    forged = tokens.sign(
        "decision",
        {"a": approval.id, "d": "approved", "u": "chair", "n": "guess"},
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    for token in ["let-me-in", forged, forged.split(".")[0] + ".AAAA"]:
        resume_with_decision(approval.flow_run_id, approval.id, token)
        _wait(lambda: _is_paused(approval.flow_run_id or ""))
    with session_scope() as session:
        still = session.get(Approval, approval.id)
        assert still is not None and still.decision is None and still.token_used_at is None
    with session_scope() as session:
        decided = approvals.decide(session, approval.id, username="chair", approve=True)
    assert (
        resume_with_decision(approval.flow_run_id, approval.id, decided.token)
        == "the waiting run was resumed"
    )
    thread.join(timeout=60)
    assert box == ["awaiting_acknowledgement"]


def test_a_decision_token_is_spent_once() -> None:
    """A replayed token must not approve a second time, nor a later step."""
    from tests.factories import register_1244

    with session_scope() as session:
        ob = register_1244(session, people={"chair": ["chair"]})["forward_to_pga"]
        first = approvals.request(
            session, obligation_id=ob, step="s", role="chair", drafted_by="officer"
        )
        second = approvals.request(
            session,
            obligation_id=ob,
            step="s",
            role="chair",
            drafted_by="officer",
            attempt=2,
        )
        decided = approvals.decide(session, first.id or 0, username="chair", approve=True)
        approvals.accept(session, first.id or 0, decided.token)
        with pytest.raises(approvals.ApprovalError, match="already used"):
            approvals.accept(session, first.id or 0, decided.token)
        with pytest.raises(approvals.ApprovalError, match="another approval"):
            approvals.accept(session, second.id or 0, decided.token)
        expired = tokens.sign(
            "decision", {"a": first.id}, expires_at=clock.now() - dt.timedelta(seconds=1)
        )
        with pytest.raises(approvals.ApprovalError, match="expired"):
            approvals.accept(session, first.id or 0, expired)
        with pytest.raises(approvals.AlreadyDecided, match="already approved"):
            approvals.decide(session, first.id or 0, username="chair", approve=False, reason="late")


def test_timed_out_approval_escalates_and_the_run_completes(
    flows_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody answered: tell the role and the secretariat, keep waiting in the register, don't fail."""
    monkeypatch.setenv("OPERATIVE_APPROVAL_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    ob = obligation_id("forward_to_pga")
    assert forward_to_pga(ob, drafted_by="officer") == "awaiting_approval"
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None and obligation.status == "awaiting_approval"
        approval = session.exec(select(Approval)).one()
        assert approval.escalated_at is not None and approval.decision is None
        message = session.exec(
            select(Message).where(Message.key == f"approval:{approval.id}:escalation")
        ).one()
        escalations = session.exec(select(Delivery).where(Delivery.message_id == message.id)).all()
        assert {d.recipient for d in escalations} == {"chair", "secretariat"}
        run_id = obligation.last_flow_run_id
    from prefect import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).state.is_completed()
    # Decided later, the next run takes the decision from the register and goes on.
    with session_scope() as session:
        approvals.decide(session, approval.id or 0, username="chair", approve=True)
    monkeypatch.setenv("OPERATIVE_APPROVAL_TIMEOUT_SECONDS", "600")
    get_settings.cache_clear()
    assert forward_to_pga(ob, drafted_by="officer") == "awaiting_acknowledgement"


def test_a_decision_whose_resume_never_arrived_is_found_in_the_register(
    flows_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resume can miss its run (sent a moment before it paused, or its server busy): the run
    must not wait for days for a decision that is already recorded."""
    import flows._prefect.common

    monkeypatch.setattr(flows._prefect.common, "RECHECK_SECONDS", 1.0)
    ob = obligation_id("forward_to_pga")
    thread, box = run_in_thread(lambda: forward_to_pga(ob, drafted_by="officer"))
    _wait(lambda: _pending_paused() is not None)
    approval = _pending_paused()
    assert approval is not None and approval.id is not None
    with session_scope() as session:
        approvals.decide(session, approval.id, username="chair", approve=True)
    # No resume is sent: the run has only the register to go by.
    thread.join(timeout=60)
    assert box == ["awaiting_acknowledgement"]
