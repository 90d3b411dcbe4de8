"""The JSON API: its schema, pagination, public models and errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.factories import sign_in


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
