"""What the secretariat does from the browser: decide approvals, start and re-run flows,
reassign, review, retry; each through the core, audited, and refused when it should be."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from operative.models import Approval, Delivery, Event, Obligation, Submission
from tests.factories import sign_in
from tests.web.conftest import Register


def _events(register: Register, kind: str) -> list[Event]:
    return register.all(select(Event).where(Event.kind == kind).order_by(Event.id))


def test_approve_records_the_decision_and_returns_quickly_without_prefect(
    client: TestClient, register: Register
) -> None:
    """With no Prefect server reachable the decision is recorded and the page answers at once."""
    csrf = sign_in(client, "chair")
    started = time.monotonic()
    response = client.post("/approvals/1/decide", data={"decision": "approve", "csrf_token": csrf})
    elapsed = time.monotonic() - started
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    assert elapsed < 5
    approval = register.get(Approval, 1)
    assert (approval.decision, approval.decided_by) == ("approved", "chair")
    assert approval.token_nonce is not None and approval.token_used_at is None
    assert [
        json.loads(e.payload)["obligation"] for e in _events(register, "approval.approved")
    ] == [5]
    page = client.get("/approvals")
    assert "the next run reads the decision" in page.text
    assert 'id="approval-1"' not in page.text


def test_reject_needs_a_reason_and_records_it(client: TestClient, register: Register) -> None:
    """A rejection without a reason helps nobody redraft: refused, then accepted with one."""
    csrf = sign_in(client, "chair")
    refused = client.post("/approvals/1/decide", data={"decision": "reject", "csrf_token": csrf})
    assert refused.status_code == 422
    assert register.get(Approval, 1).decision is None
    accepted = client.post(
        "/approvals/1/decide",
        data={"decision": "reject", "reason": "Cite GA resolution 65/170", "csrf_token": csrf},
    )
    assert accepted.status_code == 303
    approval = register.get(Approval, 1)
    assert (approval.decision, approval.reason) == ("rejected", "Cite GA resolution 65/170")


def test_four_eyes_refuses_a_decision_on_ones_own_draft(
    client: TestClient, register: Register
) -> None:
    """The core's four-eyes rule holds in the browser: the drafter cannot approve."""
    csrf = sign_in(client, "chair")
    response = client.post("/approvals/4/decide", data={"decision": "approve", "csrf_token": csrf})
    assert response.status_code == 403
    assert "a second person must decide" in response.text
    assert register.get(Approval, 4).decision is None


def test_deciding_twice_is_a_conflict(client: TestClient) -> None:
    """A second decision on the same approval must not overwrite the first."""
    csrf = sign_in(client, "approver")
    first = client.post(
        "/api/approvals/3/decision", json={"approve": True}, headers={"X-CSRF-Token": csrf}
    )
    assert first.status_code == 200
    assert first.json()["resume"].startswith("no run is waiting")
    second = client.post(
        "/api/approvals/3/decision",
        json={"approve": False, "reason": "no"},
        headers={"X-CSRF-Token": csrf},
    )
    assert second.status_code == 409
    assert second.json()["detail"] == "approval 3 was already approved by approver"


def test_trigger_starts_the_run_in_the_background_and_audits_who(
    client: TestClient, register: Register, data_dir: Path
) -> None:
    """Who started a flow, and when, must be in the audit log; the run goes on by itself."""
    csrf = sign_in(client, "officer")
    response = client.post("/api/obligations/5/run", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 202
    body = response.json()
    assert (body["playbook"], body["triggered_by"]) == ("forward_to_pga", "officer")
    triggered = _events(register, "flow.triggered")
    assert [(e.actor, e.subject) for e in triggered] == [("officer", "obligation:5")]
    log = data_dir / "web-runs" / body["log"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not log.read_text():
        time.sleep(0.05)
    assert (
        log.read_text().strip() == "run forward_to_pga --resolution 1 --obligation 5 --as officer"
    )


def test_trigger_is_refused_to_non_officers_and_audits_nothing(
    client: TestClient, register: Register
) -> None:
    """Only officers start flows (the run drafts what others approve)."""
    for role in ("viewer", "approver", "chair"):
        csrf = sign_in(client, role)
        response = client.post("/obligations/5/run", data={"csrf_token": csrf})
        assert response.status_code == 403, role
    assert _events(register, "flow.triggered") == []


def test_reassign_from_the_obligation_page_goes_through_the_core(
    client: TestClient, register: Register
) -> None:
    """A reassignment is audited with its reason, and an unknown playbook is a clear 400."""
    csrf = sign_in(client, "officer")
    unknown = client.post(
        "/obligations/2/reassign", data={"playbook": "nonsense", "csrf_token": csrf}
    )
    assert unknown.status_code == 400 and "unknown playbook &#39;nonsense&#39;" in unknown.text
    done = client.post(
        "/obligations/2/reassign",
        data={"playbook": "track_obligation", "reason": "tracked by hand", "csrf_token": csrf},
    )
    assert done.status_code == 303
    assert register.get(Obligation, 2).playbook == "track_obligation"
    event = _events(register, "obligation.reassigned")[-1]
    assert json.loads(event.payload)["reason"] == "tracked by hand"


def test_review_records_the_verdict_of_a_received_position(
    client: TestClient, register: Register
) -> None:
    """Officers review from the positions page; a state that sent nothing cannot be reviewed."""
    csrf = sign_in(client, "officer")
    assert (
        client.post(
            "/positions/4/CHE/review", data={"verdict": "partially", "csrf_token": csrf}
        ).status_code
        == 303
    )
    row = register.all(select(Submission).where(Submission.member_state_iso3 == "CHE"))[0]
    assert (row.verdict, row.reviewer) == ("partially", "officer")
    nothing = client.post(
        "/positions/4/ARG/review", data={"verdict": "reflects", "csrf_token": csrf}
    )
    assert nothing.status_code == 422


def test_retry_sends_a_failed_delivery_through_the_outbox(
    client: TestClient, register: Register, data_dir: Path
) -> None:
    """The retry button is `operative deliveries retry`: fresh attempts, sent now, audited."""
    csrf = sign_in(client, "officer")
    response = client.post("/deliveries/1/retry", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert register.get(Delivery, 1).status == "sent"
    assert [e.actor for e in _events(register, "delivery.retried")] == ["officer"]
    assert list((data_dir / "inbox").rglob("*.json"))
    again = client.post("/deliveries/1/retry", data={"csrf_token": csrf})
    assert again.status_code == 400 and "only a failed delivery is retried" in again.text


def test_a_run_marker_whose_pid_another_process_took_blocks_nothing(tmp_path: Path) -> None:
    """A pid is reused once its process ends: a marker trusted on the pid alone would refuse
    every later trigger of that obligation (409) for as long as the newcomer runs."""
    import os

    from operative.core.processes import process_name
    from operative.web.actions import running_pid

    runs = tmp_path / "web-runs"
    runs.mkdir()
    marker = runs / "obligation-7.pid"
    marker.write_text(process_name(os.getpid()), encoding="ascii")
    assert running_pid(tmp_path, 7) == os.getpid()
    host, pid, _start = process_name(os.getpid()).split(":")
    marker.write_text(f"{host}:{pid}:1", encoding="ascii")
    assert running_pid(tmp_path, 7) is None
