"""Fuzz the JSON API from its own OpenAPI schema with Schemathesis, in process (ASGI).

The register holds resolution 1244, the Member States, one user per role, pending and decided
approvals, a national-positions campaign with positions received, and deliveries sent and
failed (``tests.factories.register_1244_with_work``), so that generated ids and bodies meet
real rows.
Every operation is called signed in as an admin (who may change everything) and as a viewer
(who may change nothing), with valid and invalid input: no answer may be a 5xx, and every
answer must be one the schema declares (status code, content type, body, headers).
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from operative.core.db import get_engine
from operative.register import users
from operative.web.app import create_app
from tests.factories import playbook_ids, register_1244_with_work

# Cases per (database, signed-in role). Every operation is drawn from one strategy, so each of
# the 18 operations sees about 1/18 of them; 500 keeps the four runs under two minutes in all.
EXAMPLES = 500
PASSWORD = "fuzzing passphrase"
# A trigger starts this instead of `python -m operative run …` (which would start Prefect).
ECHO_COMMAND = (sys.executable, "-c", "pass")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _no_flow_waiting(data_dir: Path, run_id: str | None, approval_id: int, token: str) -> str:
    """The deliverer of a register with no Prefect server: the decision waits for the next run."""
    return "no run waiting"


@pytest.fixture
def app(db_url: str) -> Iterator[FastAPI]:
    """The web app over a seeded register, with an admin and a viewer who can sign in."""
    with Session(get_engine(db_url)) as session:
        register_1244_with_work(session)
        for username, role in (("fuzz.admin", "admin"), ("fuzz.viewer", "viewer")):
            users.add_user(session, username, name=username, roles=[role], password=PASSWORD)
        session.commit()
        ids = sorted(playbook_ids(session).values())
    app = create_app(run_command=ECHO_COMMAND, deliverer=_no_flow_waiting)
    app.state.known_obligations = ids
    yield app


def _tuples_as_arrays(node: Any) -> Any:
    """The schema with each tuple (``prefixItems``) loosened to an array of its item types.

    Schemathesis 4.32.5 turns ``prefixItems`` into Draft 4's ``items: [...]`` before checking
    a response with a Draft 2020-12 validator, which rejects the list as an invalid schema
    (upstream issue 3842 was the top-level case). The one tuple here,
    ``received_by_day: [date, count]``, is still checked item by item this way.
    """
    if isinstance(node, list):
        return [_tuples_as_arrays(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _tuples_as_arrays(value) for key, value in node.items()}
    if "prefixItems" in out and "items" not in out:
        out["items"] = {"anyOf": out.pop("prefixItems")}
    return out


def _load_schema(app: FastAPI) -> schemathesis.BaseSchema:
    """The app's OpenAPI schema, requests to go to the app in process (ASGI)."""
    with TestClient(app) as client:
        raw = client.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(_tuples_as_arrays(raw))
    schema.app = app
    schema.location = "/api/openapi.json"
    return schema


def _bearer(schema: schemathesis.BaseSchema, username: str) -> dict[str, str]:
    """Sign in through POST /api/token, as a program would."""
    response = (
        schema["/api/token"]["POST"]
        .Case(
            body={"username": username, "password": PASSWORD},
            media_type="application/x-www-form-urlencoded",
        )
        .call()
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("username", ["fuzz.admin", "fuzz.viewer"])
def test_the_api_answers_every_generated_request_as_its_schema_says(
    app: FastAPI, username: str
) -> None:
    """Catches a 5xx on odd input (an unhandled exception reaching the client, e.g. a lookup
    of an id that does not exist, a filter value the query cannot take, a core refusal with no
    status), and any answer the OpenAPI schema does not declare (an undeclared status, a body
    or header that does not match its model), for an admin and for a viewer."""
    schema = _load_schema(app)
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    assert len(operations) >= 17, [op.label for op in operations]
    headers = _bearer(schema, username)
    seen: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[int] = collections.Counter()
    changed: set[str] = set()

    # Random ids mostly miss; a third of the cases name rows that exist (obligations of every
    # playbook, the four approvals, a failed and a sent delivery, states that did and did not
    # send a position), so decisions, reassignments, reviews, retries and runs take effect.
    known = [
        {
            "obligation_id": obligation,
            "approval_id": approval,
            "delivery_id": delivery,
            "iso3": iso3,
        }
        for obligation, approval, delivery, iso3 in zip(
            app.state.known_obligations,
            [1, 2, 3, 4, 1],
            [1, 2, 1, 2, 1],
            ["CHE", "FRA", "BEL", "che", "XXX"],
            strict=False,
        )
    ]
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE),
        schema.as_strategy(GenerationMode.NEGATIVE),
        *[schema.as_strategy(path_parameters=ids) for ids in known],
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: a failure is reported with its request (curl line) at once, and the run
        # stays bounded (shrinking a 500 took minutes).
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        seen[case.operation.label] += 1
        statuses[response.status_code] += 1
        if response.status_code < 300 and case.method == "POST":
            changed.add(case.operation.label)
        checks = list(CHECKS)
        if case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE:
            checks.append(negative_data_rejection)
        case.validate_response(response, checks=checks, headers=headers)

    fuzz()
    print(
        f"{username}: {sum(seen.values())} requests, statuses {dict(sorted(statuses.items()))},"
        f" changes by {sorted(changed)}"
    )
    missed = {op.label for op in operations} - set(seen)
    assert not missed, f"operations never called: {sorted(missed)}"
    assert not [code for code in statuses if code >= 500]
    # The admin's changes took effect somewhere beyond signing in; the viewer's never did.
    if username == "fuzz.admin":
        assert len(changed - {"POST /api/token"}) >= 2, changed
    else:
        assert changed <= {"POST /api/token"}, changed
