"""Access from the command line: who may change what, four-eyes, and decision tokens.

The web side has its route × role table in ``tests/web/test_routes.py``; this is the CLI's.
Every mutating command that takes ``--as`` is run against a seeded register (resolution 1244,
one user per role, pending approvals, a positions campaign, a failed delivery) as an unknown
user, as users of the wrong roles and as the right one. A refusal must exit 2 with one line on
stderr and leave every row of every table as it was (the audit log included); the right user
must get through, so the comparison is known to see a change.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from operative.cli import app
from operative.core import clock, tokens
from operative.core.db import get_engine
from operative.models import Approval
from operative.playbooks import national_positions as positions
from operative.register import approvals
from tests.factories import playbook_ids, register_1244_with_work

# Users of tests.web.factories.PEOPLE: "drafter" is an officer who drafted approvals 1-3;
# approval 4 was drafted by "chair" and asks for a chair.
UNKNOWN = "ghost"
Snapshot = dict[str, list[str]]


def snapshot(url: str) -> Snapshot:
    """Every row of every table, as text: any insert, update or delete shows."""
    with get_engine(url).connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
            for table in SQLModel.metadata.sorted_tables
        }


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.fixture
def register(db_url: str, tmp_path: Path) -> dict[str, int]:
    """The seeded register; the ids of its obligations by playbook."""
    with Session(get_engine(db_url)) as session:
        register_1244_with_work(session)
        session.commit()
        return playbook_ids(session)


def mutating_commands(register: dict[str, int], tmp_path: Path) -> dict[str, list[str]]:
    """Each mutating command that takes ``--as``, with arguments it would accept."""
    position = tmp_path / "position.txt"
    position.write_text("Position nationale de la Belgique.", encoding="utf-8")
    return {
        "approve": ["approve", "1"],
        "run": ["run", "forward_to_pga", "--resolution", "1"],
        "submissions add": ["submissions", "add", "BEL", str(position)],
        "submissions review": ["submissions", "review", "CHE", "reflects"],
        "records add": ["records", "add", str(register["forward_to_pga"]), "note", "Seen."],
        "activities add": [
            "activities",
            "add",
            str(register["migrant_perspectives"]),
            "Consultation with diaspora associations",
            "--on",
            "2013-03-12",
            "--migrants-spoke",
        ],
        "reassign": ["reassign", str(register["inform_member_states"]), "track_obligation"],
    }


# Who must be refused, and who gets through ("run" with the right officer would start a
# Prefect server and a flow: the flow tests cover that side).
WRONG = {
    "approve": ["viewer", "officer", "approver", "dg.office", "admin"],
    "run": ["viewer", "chair", "approver"],
    "submissions add": ["viewer", "chair", "dg.office"],
    "submissions review": ["viewer", "chair", "approver"],
    "records add": ["viewer", "chair", "approver"],
    "activities add": ["viewer", "chair", "dg.office"],
    "reassign": ["viewer", "chair", "approver"],
}
RIGHT = {
    "approve": "chair",
    "submissions add": "officer",
    "submissions review": "officer",
    "records add": "officer",
    "activities add": "admin",
    "reassign": "officer",
}
# Mutating commands without --as, and why none is needed (see the report in README).
WITHOUT_AS = {
    "init",
    "ingest",
    "restore",
    "db upgrade",
    "notify dispatch",
    "deliveries retry",
    "users add",
    "users password",
    "portal-link",
    "demo",
    "serve",
    "deploy",
    "backup",
}
READ_ONLY = {
    "resolutions",
    "obligations",
    "member-states",
    "akn",
    "inbox",
    "status",
    "approvals",
    "calendar",
    "web",
    "report",
    "audit verify",
    "notify test",
    "users list",
    "submissions list",
}


def _commands() -> dict[str, bool]:
    """Every command of ``operative``, and whether it takes ``--as``."""
    found: dict[str, bool] = {}

    def walk(command: object, prefix: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children is not None:
            for name, child in children.items():
                walk(child, (*prefix, name))
            return
        options = [o for p in getattr(command, "params", []) for o in getattr(p, "opts", [])]
        found[" ".join(prefix)] = "--as" in options

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_is_classified_and_every_acting_command_is_tried() -> None:
    """Catches a new command that acts for someone (``--as``) but is missing from the table
    below, so no one tried it with the wrong user."""
    commands = _commands()
    takes_as = {name for name, has in commands.items() if has}
    assert takes_as == set(WRONG)
    assert set(commands) == takes_as | WITHOUT_AS | READ_ONLY, set(commands) ^ (
        takes_as | WITHOUT_AS | READ_ONLY
    )


def _refused(result: object, who: str) -> str:
    exit_code = getattr(result, "exit_code", None)
    stderr = getattr(result, "stderr", "")
    assert exit_code == 2, (who, exit_code, stderr, getattr(result, "exception", None))
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return str(stderr)


@pytest.mark.postgres
@pytest.mark.slow
def test_every_acting_command_refuses_unknown_and_wrong_users_and_changes_nothing(
    register: dict[str, int], db_url: str, tmp_path: Path
) -> None:
    """Catches a CLI command that acts for anyone named in ``--as`` (an unknown name, a viewer,
    a user without the role), or that writes something (a row, an audit event) before refusing;
    and one that refuses everyone, which would make the refusals prove nothing."""
    runner = CliRunner()
    commands = mutating_commands(register, tmp_path)
    tried = 0
    for name, args in commands.items():
        for who in [UNKNOWN, *WRONG[name]]:
            before = snapshot(db_url)
            message = _refused(runner.invoke(app, [*args, "--as", who]), f"{name} --as {who}")
            assert who in message, message
            assert changed(before, snapshot(db_url)) == [], f"{name} --as {who} changed rows"
            tried += 1
        if name in RIGHT:
            before = snapshot(db_url)
            result = runner.invoke(app, [*args, "--as", RIGHT[name]])
            assert result.exit_code == 0, (name, result.stderr, result.exception)
            after = snapshot(db_url)
            assert "event" in changed(before, after), name
            # The audit log names who acted, not a default.
            new_events = set(after["event"]) - set(before["event"])
            assert any(repr(RIGHT[name]) in row for row in new_events), (name, new_events)
    assert tried == sum(len(w) + 1 for w in WRONG.values())


@pytest.mark.postgres
def test_the_drafter_cannot_approve_what_they_drafted(
    register: dict[str, int], db_url: str
) -> None:
    """Catches four-eyes not enforced from the CLI: the chair who drafted approval 4 deciding it,
    by approving or by rejecting."""
    runner = CliRunner()
    before = snapshot(db_url)
    for args in (["approve", "4"], ["approve", "4", "--reject", "--reason", "Redo it."]):
        message = _refused(runner.invoke(app, [*args, "--as", "chair"]), "drafter")
        assert "drafted" in message and "second person" in message, message
    assert changed(before, snapshot(db_url)) == []


def _decided(url: str) -> tuple[int, str]:
    """Approval 1 decided by the chair through the core, and its decision token."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        decided = approvals.decide(session, 1, username="chair", approve=True)
        session.commit()
        return decided.approval.id or 0, decided.token


def _claims(token: str) -> dict[str, object]:
    payload = token.partition(".")[0]
    data: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return data


def _reencoded(token: str, **changes: object) -> str:
    """The token with its claims changed and its old signature kept (a forgery)."""
    claims = {**_claims(token), **changes}
    payload = base64.urlsafe_b64encode(
        json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    ).rstrip(b"=")
    return f"{payload.decode()}.{token.partition('.')[2]}"


def _flip_last(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def _signed_with(token: str, key: bytes) -> str:
    """The token's own payload under a signature made with another key."""
    payload = token.partition(".")[0]
    digest = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _resigned(token: str, **changes: object) -> str:
    """The token's claims changed and signed again, as the secret key holder could."""
    claims = {k: v for k, v in _claims(token).items() if k not in {"p", "exp"}}
    expires = dt.datetime.fromtimestamp(int(str(_claims(token)["exp"])), dt.UTC)
    return tokens.sign(approvals.DECISION_PURPOSE, {**claims, **changes}, expires_at=expires)


@pytest.mark.postgres
def test_forged_expired_and_replayed_decision_tokens_are_refused(
    register: dict[str, int], db_url: str
) -> None:
    """Catches a paused flow resumed by a decision nobody took: a token altered by one
    character, re-encoded with other claims, signed with another key, for another purpose or
    approval, past its expiry, or presented a second time; and a refusal that still marks the
    token used (the genuine decision could then never reach the run)."""
    approval_id, token = _decided(db_url)
    claims = _claims(token)
    past = clock.now() - dt.timedelta(minutes=1)
    portal = positions.portal_token(
        register["national_positions"], "CHE", expires_at=clock.now() + dt.timedelta(days=1)
    )

    forgeries: dict[str, tuple[int, Callable[[], str], str]] = {
        "one character changed": (approval_id, lambda: _flip_last(token), "forged or altered"),
        "rejected turned approved": (
            approval_id,
            lambda: _reencoded(token, d="rejected" if claims["d"] == "approved" else "approved"),
            "forged or altered",
        ),
        "another decider": (approval_id, lambda: _reencoded(token, u="dg.office"), "forged"),
        "another key": (approval_id, lambda: _signed_with(token, b"guessed"), "forged"),
        "a portal link": (approval_id, lambda: portal, "not a decision token"),
        "garbage": (approval_id, lambda: "approved", "malformed"),
        "for approval 2": (2, lambda: token, "another approval"),
        "expired": (
            approval_id,
            lambda: tokens.sign(
                approvals.DECISION_PURPOSE,
                {k: v for k, v in claims.items() if k not in {"p", "exp"}},
                expires_at=past,
            ),
            "expired",
        ),
        "an old nonce": (approval_id, lambda: _resigned(token, n="stale-nonce"), "does not match"),
    }
    before = snapshot(db_url)
    for label, (target, make, expected) in forgeries.items():
        with Session(get_engine(db_url)) as session:
            with pytest.raises(approvals.ApprovalError, match=expected):
                approvals.accept(session, target, make())
            session.commit()  # a careless caller commits anyway: nothing may have been marked
        assert changed(before, snapshot(db_url)) == [], label

    with Session(get_engine(db_url)) as session:
        accepted = approvals.accept(session, approval_id, token)
        assert accepted.decision == "approved" and accepted.decided_by == "chair"
        session.commit()
    spent = snapshot(db_url)
    assert changed(before, spent) == ["approval"]
    with Session(get_engine(db_url)) as session:
        with pytest.raises(approvals.ApprovalError, match="already used"):
            approvals.accept(session, approval_id, token)
        session.commit()
    assert changed(spent, snapshot(db_url)) == []
    with Session(get_engine(db_url)) as session:
        row = session.get(Approval, approval_id)
        assert row is not None and row.token_used_at is not None
