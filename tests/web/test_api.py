"""The JSON API: its schema, pagination, public models and errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from operative.models import Approval, Delivery, DeliveryStatus, Message
from operative.register import approvals, documents, records
from tests.factories import sign_in
from tests.web.conftest import Register


def test_openapi_schema_lists_every_api_route_and_no_page(client: TestClient) -> None:
    """Programs discover the API from /api/openapi.json; pages are not part of it."""
    schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/token",
        "/api/me",
        "/api/resolutions",
        "/api/obligations",
        "/api/obligations/{obligation_id}",
        "/api/obligations/{obligation_id}/events",
        "/api/obligations/{obligation_id}/run",
        "/api/obligations/{obligation_id}/reassign",
        "/api/approvals",
        "/api/approvals/{approval_id}/decision",
        "/api/deliveries",
        "/api/deliveries/{delivery_id}/retry",
        "/api/positions",
        "/api/positions/summary",
        "/api/positions/{obligation_id}/{iso3}/review",
        "/api/calendar",
        "/api/reports/progress",
    } == paths
    assert "Page_PositionPublic_" in schema["components"]["schemas"]
    assert "token_nonce" not in str(schema)


def test_lists_are_paginated_with_total_and_a_maximum(client: TestClient) -> None:
    """175 Member States come in pages; asking for more than 200 at once is refused."""
    sign_in(client, "viewer")
    first = client.get("/api/positions?limit=100").json()
    last = client.get("/api/positions?limit=100&offset=100").json()
    assert (first["total"], first["limit"], first["offset"]) == (175, 100, 0)
    assert len(first["items"]) == 100 and len(last["items"]) == 75
    states = [p["state"] for p in first["items"] + last["items"]]
    assert len(set(states)) == 175 and states == sorted(states)
    too_many = client.get("/api/positions?limit=201")
    assert too_many.status_code == 422
    assert too_many.json() == {"detail": "query.limit: Input should be less than or equal to 200"}
    assert client.get("/api/positions?offset=-1").status_code == 422


def test_obligations_api_shows_what_the_overview_shows(client: TestClient) -> None:
    """Status, progress, deadline, overdue flag and next action, as on the page."""
    sign_in(client, "viewer")
    page = client.get("/api/obligations").json()
    assert page["total"] == 5
    letter = next(o for o in page["items"] if o["playbook"] == "forward_to_pga")
    assert letter["paragraph"] == "5" and letter["overdue"] is True
    assert letter["pending_approvals"] == [1, 4]
    assert letter["next_action"] == "Decision by chair (transmittal, approval 1)"
    only_late = client.get("/api/obligations?overdue=true&limit=2").json()
    assert only_late["total"] == 5 and len(only_late["items"]) == 2


def test_filters_narrow_the_positions(client: TestClient) -> None:
    """Filters by stage, language, verdict and name work the same for the API and the page."""
    sign_in(client, "viewer")
    received = client.get("/api/positions?state=received").json()
    assert sorted(p["state"] for p in received["items"]) == ["CHE", "FRA"]
    french = client.get("/api/positions?language=fr&verdict=reflects").json()
    assert [p["state"] for p in french["items"]] == ["FRA"]
    assert client.get("/api/positions?q=switz").json()["items"][0]["state"] == "CHE"
    bad = client.get("/api/positions?state=lost")
    assert bad.status_code == 400 and "expected one of" in bad.json()["detail"]
    summary = client.get("/api/positions/summary").json()
    assert (summary["invited"], summary["received"], summary["reviewed"]) == (175, 2, 1)


def test_unknown_things_are_404_in_json(client: TestClient) -> None:
    """A wrong id is a clear 404 for programs, not a stack trace."""
    sign_in(client, "viewer")
    response = client.get("/api/obligations/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no obligation 999"}


def test_timeline_pages_through_the_obligations_events(client: TestClient) -> None:
    """The audit timeline of an obligation includes its approvals' events, newest first."""
    sign_in(client, "viewer")
    events = client.get("/api/obligations/5/events?limit=1").json()
    assert events["total"] >= 2 and len(events["items"]) == 1
    everything = client.get("/api/obligations/5/events?limit=200").json()["items"]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert {"approval:1", "approval:4"} <= {e["subject"] for e in everything}


def test_public_models_take_each_field_from_its_own_row(
    client: TestClient, register: Register
) -> None:
    """The API's models are read from the rows by column name: each field must come from the
    row it belongs to (a delivery's attempts, its message's key) and the derived ones (escalated,
    the draft's title, the parsed payload) must be there, never the columns they come from."""
    ids = {o["playbook"]: o["id"] for o in _viewer_get(client, "/api/obligations")["items"]}
    letter, voices = ids["forward_to_pga"], ids["migrant_perspectives"]
    with register.session() as session:
        draft = documents.draft(
            session,
            obligation_id=letter,
            kind="transmittal",
            cycle=0,
            version=1,
            title="Letter to the PGA",
            body="Excellency, …",
            drafted_by="drafter",
        )
        approval = session.get(Approval, 1)
        assert approval is not None and approval.obligation_id == letter
        approval.document_id = draft.id
        session.add(approval)
        approvals.mark_escalated(session, 1)
        records.add_record(session, letter, kind="note", text="Sent by hand.", actor="officer")
        records.add_activity(
            session,
            voices,
            occurred_on=dt.date(2013, 3, 1),
            kind="consultation",
            title="Consultation in Geneva",
            migrants_spoke=True,
            actor="officer",
        )
        session.commit()

    detail = _viewer_get(client, f"/api/obligations/{letter}")
    assert detail["obligation"]["id"] == letter and detail["obligation"]["kind"] == "action"
    (document,) = detail["documents"]
    assert (document["id"], document["title"], document["cycle"], document["note"]) == (
        draft.id,
        "Letter to the PGA",
        0,
        None,
    )
    (note,) = detail["records"]
    assert (note["kind"], note["text"], note["recorded_by"]) == ("note", "Sent by hand.", "officer")
    escalated = next(a for a in detail["approvals"] if a["id"] == 1)
    assert (escalated["escalated"], escalated["document_id"]) == (True, draft.id)
    assert "token_nonce" not in escalated and "escalated_at" not in escalated
    listed = _viewer_get(client, "/api/approvals")["items"]
    assert next(a for a in listed if a["id"] == 1)["document_title"] == "Letter to the PGA"
    (activity,) = _viewer_get(client, f"/api/obligations/{voices}")["activities"]
    assert (activity["occurred_on"], activity["migrants_spoke"]) == ("2013-03-01", True)

    (failed,) = _viewer_get(client, "/api/deliveries?status=failed")["items"]
    (row,) = register.all(select(Delivery).where(Delivery.status == DeliveryStatus.failed))
    message = register.get(Message, row.message_id)
    assert (failed["id"], failed["recipient"], failed["target"]) == (row.id, "secretariat", None)
    assert (failed["message"], failed["kind"], failed["obligation_id"]) == (
        message.key,
        "escalation",
        message.obligation_id,
    )
    assert failed["attempts"] == 5 and failed["escalated"] is False
    events = _viewer_get(client, f"/api/obligations/{letter}/events?limit=200")["items"]
    escalation = next(e for e in events if e["kind"] == "approval.escalated")
    assert isinstance(escalation["payload"], dict) and escalation["subject"] == "approval:1"


def _viewer_get(client: TestClient, url: str) -> Any:
    """The JSON of a GET, as a viewer."""
    sign_in(client, "viewer")
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()
