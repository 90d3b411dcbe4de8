"""Every route, for every kind of visitor: one table of route × role → status code."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import ROLE_USERS, portal_token, sign_in

ROLES = ("anonymous", "viewer", "officer", "approver", "chair", "admin")
CAMPAIGN = 4  # the seeded national_positions obligation (OP 4)
LETTER = 5  # forward_to_pga (OP 5)


def statuses(default: int, anonymous: int, **by_role: int) -> dict[str, int]:
    return {
        role: by_role.get(role, anonymous if role == "anonymous" else default) for role in ROLES
    }


PAGE = statuses(200, 303)
API = statuses(200, 401)
PUBLIC = statuses(200, 200)
OFFICERS_PAGE = statuses(403, 303, officer=303, admin=303)
OFFICERS_API = statuses(403, 401, officer=200, admin=200)


def portal(_client: Any) -> str:
    return f"/portal/{portal_token(CAMPAIGN, 'CHE')}"


# (method, path, request keywords, expected status per role)
ROUTES: list[tuple[str, Any, dict[str, Any], dict[str, int]]] = [
    ("GET", "/", {}, PAGE),
    ("GET", f"/obligations/{LETTER}", {}, PAGE),
    ("GET", f"/obligations/{LETTER}?offset=1&limit=1", {}, PAGE),
    ("GET", "/positions", {}, PAGE),
    ("GET", "/positions?state=received&language=fr&q=fra", {}, PAGE),
    ("GET", f"/positions/{CAMPAIGN}/CHE/file", {}, statuses(404, 303)),
    ("GET", "/approvals", {}, PAGE),
    ("GET", "/approvals?state=decided", {}, PAGE),
    ("GET", "/deliveries", {}, PAGE),
    ("GET", "/deliveries?status=all", {}, PAGE),
    ("GET", "/calendar", {}, PAGE),
    ("GET", "/calendar.ics", {}, PAGE),
    ("GET", "/exports", {}, PAGE),
    ("GET", "/exports/obligations.csv", {}, PAGE),
    ("GET", "/exports/obligations.xlsx", {}, PAGE),
    ("GET", "/exports/positions.csv", {}, PAGE),
    ("GET", "/exports/positions.xlsx", {}, PAGE),
    ("GET", "/reports/progress", {}, PAGE),
    ("GET", "/reports/progress.md", {}, PAGE),
    ("GET", "/signin", {}, PUBLIC),
    ("GET", "/healthz", {}, PUBLIC),
    ("GET", "/static/app.css", {}, PUBLIC),
    ("GET", "/static/htmx-2.0.11.min.js", {}, PUBLIC),
    ("GET", portal, {}, PUBLIC),
    (
        "POST",
        portal,
        {"data": {"position_text": "Our position."}, "portal_csrf": True},
        statuses(303, 303),
    ),
    ("POST", "/signin", {"data": {"username": "officer", "password": "x"}}, statuses(403, 403)),
    ("POST", "/signout", {"data": {}}, statuses(303, 303)),
    (
        "POST",
        "/approvals/1/decide",
        {"data": {"decision": "approve"}},
        statuses(403, 303, chair=303),
    ),
    ("POST", f"/obligations/{LETTER}/run", {"data": {}}, OFFICERS_PAGE),
    (
        "POST",
        "/obligations/2/reassign",
        {"data": {"playbook": "track_obligation", "reason": "test"}},
        OFFICERS_PAGE,
    ),
    (
        "POST",
        f"/positions/{CAMPAIGN}/CHE/review",
        {"data": {"verdict": "partially"}},
        OFFICERS_PAGE,
    ),
    ("POST", "/deliveries/1/retry", {"data": {}}, OFFICERS_PAGE),
    ("GET", "/api/openapi.json", {}, PUBLIC),
    ("GET", "/api/me", {}, API),
    ("GET", "/api/resolutions", {}, API),
    ("GET", "/api/obligations", {}, API),
    ("GET", f"/api/obligations/{LETTER}", {}, API),
    ("GET", f"/api/obligations/{LETTER}/events", {}, API),
    ("GET", "/api/approvals", {}, API),
    ("GET", "/api/deliveries?status=failed", {}, API),
    ("GET", "/api/positions", {}, API),
    ("GET", "/api/positions/summary", {}, API),
    ("GET", "/api/calendar", {}, API),
    ("GET", "/api/reports/progress", {}, API),
    (
        "POST",
        "/api/token",
        {"data": {"username": "officer", "password": "wrong password"}},
        statuses(401, 401),
    ),
    (
        "POST",
        "/api/approvals/3/decision",
        {"json": {"approve": True}},
        statuses(403, 401, approver=200),
    ),
    (
        "POST",
        f"/api/obligations/{LETTER}/run",
        {"json": {}},
        statuses(403, 401, officer=202, admin=202),
    ),
    (
        "POST",
        "/api/obligations/2/reassign",
        {"json": {"playbook": "track_obligation"}},
        OFFICERS_API,
    ),
    (
        "POST",
        f"/api/positions/{CAMPAIGN}/CHE/review",
        {"json": {"verdict": "reflects"}},
        OFFICERS_API,
    ),
    ("POST", "/api/deliveries/1/retry", {"json": {}}, OFFICERS_API),
]

CASES = [
    pytest.param(
        method,
        path,
        options,
        role,
        expected[role],
        id=f"{method} {getattr(path, '__name__', path)} as {role}",
    )
    for method, path, options, expected in ROUTES
    for role in ROLES
]


def _request(client: TestClient, method: str, path: Any, options: dict[str, Any], role: str) -> int:
    url = path(client) if callable(path) else path
    kwargs: dict[str, Any] = {k: v for k, v in options.items() if k != "portal_csrf"}
    headers = {}
    if role != "anonymous":
        csrf = sign_in(client, ROLE_USERS[role])
        if "data" in kwargs and not url.startswith("/portal/"):
            kwargs["data"] = {**kwargs["data"], "csrf_token": csrf}
        headers["X-CSRF-Token"] = csrf if url.startswith("/api/") else ""
    if options.get("portal_csrf"):
        from operative.web.auth import portal_csrf

        kwargs["data"] = {**kwargs["data"], "csrf_token": portal_csrf(url.rsplit("/", 1)[1])}
    headers = {k: v for k, v in headers.items() if v}
    response = client.request(method, url, headers=headers, **kwargs)
    return response.status_code


@pytest.mark.parametrize(("method", "path", "options", "role", "expected"), CASES)
def test_route_answers_each_role_with_its_status(
    client: TestClient, method: str, path: Any, options: dict[str, Any], role: str, expected: int
) -> None:
    """Who may see and do what is one table: a change to access shows up as a changed row."""
    assert _request(client, method, path, options, role) == expected


def test_table_covers_every_route_of_the_app(client: TestClient) -> None:
    """A route added without a row in the table would escape the access check."""
    from fastapi.routing import APIRoute

    covered = set()
    for method, path, _options, _expected in ROUTES:
        url = path(client) if callable(path) else path
        covered.add((method, url.split("?")[0]))
    app_routes = {
        (method, route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    import re

    def matches(template: str, url: str) -> bool:
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        return re.fullmatch(pattern, url) is not None

    missing = sorted(
        f"{method} {template}"
        for method, template in app_routes
        if not any(m == method and matches(template, url) for m, url in covered)
    )
    assert missing == []


@pytest.mark.parametrize(
    "path",
    [
        "/obligations/99999999999",
        "/obligations/1?offset=99999999999",
        "/approvals?offset=99999999999",
        "/deliveries?offset=99999999999",
        "/positions?obligation=99999999999",
        "/exports/positions.csv?obligation=99999999999",
        "/exports/obligations.xlsx?resolution=99999999999",
        "/reports/progress?resolution=99999999999",
    ],
)
def test_a_number_too_large_for_the_database_is_bad_input_on_pages(
    client: TestClient, path: str
) -> None:
    """An id or offset past PostgreSQL's integer reached the driver and came back as a 500
    (an OverflowError on SQLite): it is the visitor's bad input, and must read as such."""
    sign_in(client, "admin")
    answer = client.get(path)
    assert answer.status_code == 422, (path, answer.status_code)
