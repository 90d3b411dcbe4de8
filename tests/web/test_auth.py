"""Signing in, sessions, CSRF and viewers: a change needs a person allowed to make it, asking
on purpose."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlmodel import select

from operative.models import Approval, Event, Obligation
from operative.web.auth import SESSION_COOKIE
from tests.factories import PASSWORD, sign_in
from tests.web.conftest import Register


def _sign_in_by_form(client: TestClient, password: str, **fields: str) -> httpx.Response:
    """Open the sign-in form and post it as the officer, with the form's own CSRF value."""
    page = client.get("/signin")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return client.post(
        "/signin",
        data={"username": "officer", "password": password, "csrf_token": match.group(1), **fields},
    )


def test_sign_in_with_password_sets_a_protected_session_cookie(client: TestClient) -> None:
    """The cookie must be unreadable by scripts and not sent on cross-site posts."""
    response = _sign_in_by_form(client, PASSWORD, next="/positions")
    assert response.status_code == 303
    assert response.headers["location"] == "/positions"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/me").json()["username"] == "officer"


def test_sign_in_with_a_wrong_password_is_refused_without_a_session(client: TestClient) -> None:
    """A wrong password must give no session and say so on the form."""
    response = _sign_in_by_form(client, "not it at all")
    assert response.status_code == 401
    assert 'id="signin-error"' in response.text
    assert SESSION_COOKIE not in client.cookies


def test_sign_in_refuses_an_offsite_next_url(client: TestClient) -> None:
    """Sign-in must not become an open redirect to another site."""
    response = _sign_in_by_form(client, PASSWORD, next="//evil.example/")
    assert response.headers["location"] == "/"


def test_unauthenticated_page_redirects_to_sign_in_and_api_answers_401(client: TestClient) -> None:
    """People are sent to the form; programs get a status they can act on."""
    page = client.get("/positions?state=received")
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=/positions%3Fstate%3Dreceived"
    api = client.get("/api/obligations")
    assert api.status_code == 401
    assert api.json() == {"detail": "Sign in first: a session cookie or a bearer token."}


def test_forged_or_expired_session_cookie_is_no_session(client: TestClient) -> None:
    """Only a cookie signed with the secret key speaks for a user."""
    sign_in(client, "officer")
    token = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert client.get("/api/me").status_code == 401


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, register: Register
) -> None:
    """Another site can make a browser send the cookie, not the token: such a post must fail."""
    sign_in(client, "chair")
    before = register.count(Event)
    response = client.post("/approvals/1/decide", data={"decision": "approve"})
    assert response.status_code == 403
    assert "security token" in response.text
    assert register.get(Approval, 1).decision is None
    assert register.count(Event) == before


def test_post_with_a_forged_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, register: Register
) -> None:
    """A token of another session (or made up) is as good as none."""
    sign_in(client, "officer")
    other = sign_in(TestClient(client.app), "officer")
    before = register.count(Event)
    response = client.post(
        "/obligations/2/reassign", data={"playbook": "track_obligation", "csrf_token": other}
    )
    assert response.status_code == 403
    assert register.get(Obligation, 2).playbook == "migrant_perspectives"
    assert register.count(Event) == before


def test_api_post_with_cookie_needs_the_csrf_header(client: TestClient, register: Register) -> None:
    """The JSON API shares the cookie, so it shares the CSRF rule (header X-CSRF-Token)."""
    csrf = sign_in(client, "approver")
    refused = client.post("/api/approvals/3/decision", json={"approve": True})
    assert refused.status_code == 403
    assert register.get(Approval, 3).decision is None
    accepted = client.post(
        "/api/approvals/3/decision", json={"approve": True}, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 200
    assert accepted.json()["approval"]["decision"] == "approved"


def test_bearer_token_works_for_the_api_without_csrf(client: TestClient) -> None:
    """A browser never sends a bearer token by itself, so programs need no CSRF value."""
    issued = client.post("/api/token", data={"username": "officer", "password": PASSWORD})
    assert issued.status_code == 200
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert client.get("/api/me", headers=headers).json()["roles"] == ["officer"]
    reassigned = client.post(
        "/api/obligations/2/reassign", json={"playbook": "track_obligation"}, headers=headers
    )
    assert reassigned.status_code == 200
    assert reassigned.json()["playbook"] == "track_obligation"


def test_viewer_post_is_refused_and_changes_nothing(client: TestClient, register: Register) -> None:
    """Viewers watch; every change they try is a 403 and leaves the register as it was."""
    csrf = sign_in(client, "viewer")
    before = register.count(Event)
    for url, data in (
        ("/approvals/1/decide", {"decision": "approve"}),
        ("/obligations/2/reassign", {"playbook": "track_obligation"}),
        ("/obligations/5/run", {}),
        ("/deliveries/1/retry", {}),
        ("/positions/4/CHE/review", {"verdict": "reflects"}),
    ):
        response = client.post(url, data={**data, "csrf_token": csrf})
        assert response.status_code == 403, url
        assert "viewers cannot change anything" in response.text
    assert register.count(Event) == before
    assert register.get(Obligation, 2).playbook == "migrant_perspectives"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    """After signing out, the browser holds no session."""
    csrf = sign_in(client, "viewer")
    response = client.post("/signout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_disabled_user_loses_access_at_once(client: TestClient, register: Register) -> None:
    """Roles and activity are read on every request, not frozen in the cookie."""
    from operative.models import User

    sign_in(client, "officer")
    with register.session() as session:
        user = session.exec(select(User).where(User.username == "officer")).one()
        user.active = False
        session.add(user)
        session.commit()
    assert client.get("/api/me").status_code == 401
