"""``operative audit verify`` against a log edited behind the application's back, with SQL.

Each case tampers with one event of a real log (a resolution ingested, then a few more
events) and expects exit code 1 and one line on stderr naming the event's sequence number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from operative.cli import app
from operative.core import audit
from operative.core.db import get_engine, session_scope
from operative.models import Event
from tests.conftest import SEED

EVENTS = 8

EVENT = Event.__table__  # typed columns: SQLite hands back plain strings for raw SQL
_FIELDS = ("occurred_at", "actor", "kind", "subject", "payload", "prev_hash", "hash")


def _row(connection: Connection, sequence: int) -> dict[str, Any]:
    row = connection.execute(sa.select(EVENT).where(EVENT.c.id == sequence)).one()
    return {name: getattr(row, name) for name in _FIELDS}


def _update(connection: Connection, sequence: int, **values: Any) -> None:
    connection.execute(sa.update(EVENT).where(EVENT.c.id == sequence).values(**values))


def _rehash(connection: Connection, sequence: int) -> None:
    """Recompute an event's hash as a forger who read audit.py would."""
    row = _row(connection, sequence)
    digest = audit._digest(
        row["prev_hash"],
        row["occurred_at"],
        row["actor"],
        row["kind"],
        row["subject"],
        row["payload"],
    )
    _update(connection, sequence, hash=digest)


def _forge(connection: Connection, sequence: int, after: int) -> None:
    """Insert a well-formed event: the right previous hash, the right digest."""
    previous = _row(connection, after)
    connection.execute(
        sa.insert(EVENT).values(
            id=sequence,
            occurred_at=previous["occurred_at"],
            actor="chair",
            kind="approval.decided",
            subject="approval:1",
            payload="{}",
            prev_hash=previous["hash"],
            hash=f"pending-{sequence}",
        )
    )
    _rehash(connection, sequence)


def edit_payload(connection: Connection) -> int:
    _update(connection, 4, payload='{"approved":true}')
    return 4


def edit_actor_and_rehash(connection: Connection) -> int:
    _update(connection, 4, actor="someone-else")
    _rehash(connection, 4)
    return 4


def edit_last_and_rehash(connection: Connection) -> int:
    _update(connection, EVENTS, subject="obligation:99")
    _rehash(connection, EVENTS)
    return EVENTS


def delete_middle(connection: Connection) -> int:
    connection.execute(sa.delete(EVENT).where(EVENT.c.id == 5))
    return 5


def delete_first(connection: Connection) -> int:
    connection.execute(sa.delete(EVENT).where(EVENT.c.id == 1))
    return 1


def delete_last(connection: Connection) -> int:
    connection.execute(sa.delete(EVENT).where(EVENT.c.id == EVENTS))
    return EVENTS


def swap_two(connection: Connection) -> int:
    """Events 3 and 4 exchange places: each keeps its content and hash, ids stay put."""
    third, fourth = _row(connection, 3), _row(connection, 4)
    _update(connection, 3, hash="moving")
    _update(connection, 4, **third)
    _update(connection, 3, **fourth)
    return 3


def insert_forged_at_end(connection: Connection) -> int:
    _forge(connection, EVENTS + 1, after=EVENTS)
    return EVENTS + 1


def insert_forged_in_middle(connection: Connection) -> int:
    """Events from 5 on move up one place; a chained forgery takes sequence 5."""
    connection.execute(sa.update(EVENT).where(EVENT.c.id >= 5).values(id=EVENT.c.id + 1000))
    connection.execute(sa.update(EVENT).where(EVENT.c.id >= 1005).values(id=EVENT.c.id - 999))
    _forge(connection, 5, after=4)
    return 5


TAMPERING: list[Callable[[Connection], int]] = [
    edit_payload,
    edit_actor_and_rehash,
    edit_last_and_rehash,
    delete_middle,
    delete_first,
    delete_last,
    swap_two,
    insert_forged_at_end,
    insert_forged_in_middle,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_audit_verify_names_the_tampered_event_in_one_line(
    db_url: str, tamper: Callable[[Connection], int]
) -> None:
    """Catches a verifier that misses an edited, deleted, reordered or inserted event (the
    tail ones included, which a hash chain alone cannot see), or that names the wrong one."""
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0
    with session_scope(db_url) as session:
        for index in range(EVENTS - 1):
            audit.append(session, actor="officer", kind="test", subject=f"n:{index}")
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.stderr
    assert f"{EVENTS} events" in intact.stdout

    with get_engine(db_url).begin() as connection:
        sequence = tamper(connection)

    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"event {sequence}:" in lines[0], lines[0]
