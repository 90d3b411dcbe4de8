"""forward_to_pga on a real Prefect server: rejection, corrected draft, approval, sending, ack."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import col, select

from flows.forward_to_pga import forward_to_pga
from operative.core import audit
from operative.core.db import session_scope
from operative.models import Approval, Delivery, Document, Event, Obligation
from operative.register import records
from tests.flows.conftest import (
    ScriptedApprover,
    artifacts_of,
    four_eyes,
    obligation_id,
    officer_records,
)


def test_rejected_draft_is_corrected_approved_sent_and_done_after_acknowledgement(
    flows_env: Path,
) -> None:
    """The whole of OP5: four-eyes approval with one rejection, one letter to the PGA, then done."""
    ob = obligation_id("forward_to_pga")
    script = [("chair", False, "Cite GA resolution 65/170"), ("chair", True, "")]
    corrected = (
        "To the President of the General Assembly: corrected letter citing resolution 65/170."
    )
    with session_scope() as session:
        records.add_record(session, ob, kind="revision", text=corrected, actor="officer")
    with ScriptedApprover(script, wait_paused=True) as approver:
        assert forward_to_pga(ob, drafted_by="officer") == "awaiting_acknowledgement"
    assert approver.errors == []
    with session_scope() as session:
        drafts = session.exec(select(Document).order_by(col(Document.version))).all()
        assert [d.version for d in drafts] == [1, 2]
        assert drafts[1].note == "Cite GA resolution 65/170"
        decided = session.exec(select(Approval).order_by(col(Approval.attempt))).all()
        assert [(a.decision, a.decided_by, a.token_used_at is not None) for a in decided] == [
            ("rejected", "chair", True),
            ("approved", "chair", True),
        ]
        to_pga = session.exec(select(Delivery).where(Delivery.recipient == "pga_office")).all()
        assert to_pga and all(d.status == "sent" for d in to_pga)
        obligation = session.get(Obligation, ob)
        assert (
            obligation is not None
            and obligation.status == "in_progress"
            and obligation.progress == 80
        )
        run_id = obligation.last_flow_run_id
    inbox = [json.loads(p.read_text()) for p in (flows_env / "inbox").glob("*.json")]
    letters = [m for m in inbox if m.get("attachments")]
    assert len(letters) == 1, "exactly one transmittal, with the resolution attached"
    assert letters[0]["body"] == corrected == drafts[1].body, "the PGA gets the approved letter"
    assert run_id and artifacts_of(run_id)

    officer_records(ob, "acknowledgement", "Receipt acknowledged by the PGA's office")
    assert forward_to_pga(ob, drafted_by="officer") == "done"
    inbox_after = [json.loads(p.read_text()) for p in (flows_env / "inbox").glob("*.json")]
    assert len(inbox_after) == len(inbox), "the re-run sent nothing again"
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None and (obligation.status, obligation.progress) == ("done", 100)
        kinds = session.exec(select(Event.kind)).all()
        assert {
            "approval.rejected",
            "approval.approved",
            "document.drafted",
            "record.acknowledgement",
        } <= set(kinds)
        assert audit.verify(session)[1] == []


def test_drafter_and_wrong_role_cannot_approve(flows_env: Path) -> None:
    """Four-eyes: a chair who drafted the letter, or a user without the chair role, is refused."""
    ob = obligation_id("forward_to_pga")
    with four_eyes("chair", refused=["dg", "officer"], decider="chair2", role="chair"):
        assert forward_to_pga(ob, drafted_by="chair") == "awaiting_acknowledgement"
