"""`operative demo` end to end: exit 0, a summary that says what the database says, and
every stamp on the replayed business clock. The demo runs once for the module (minutes)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from operative.models import UTCDateTime
from tests.conftest import run_cli

# The demo's replayed year: from the adoption of resolution 1244 to the High-level Dialogue.
REPLAYED_FROM = dt.datetime(2012, 11, 27)
REPLAYED_UNTIL = dt.datetime(2013, 10, 31, 23, 59, 59)
# Columns that hold a deadline set ahead of time, not a moment something was done.
DEADLINES = {("obligation", "due_at")}


@pytest.fixture(scope="module")
def demo(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The data dir and the JSON summary of one `operative demo` run."""
    data_dir = tmp_path_factory.mktemp("demo") / "demo"
    result = run_cli("demo", "--data-dir", str(data_dir), "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return data_dir, json.loads(result.stdout)


def test_demo_exits_0_and_its_summary_matches_the_database(demo: tuple[Path, Any]) -> None:
    """The first thing a new user runs must work, and must not tell them anything untrue."""
    data_dir, summary = demo
    database = sqlite3.connect(data_dir / "operative.db")
    rows = database.execute(
        "SELECT p.num, o.playbook, o.status, o.progress FROM obligation o JOIN paragraph p ON p.id = o.paragraph_id ORDER BY p.position"
    ).fetchall()
    assert [
        (r["paragraph"], r["playbook"], r["status"], r["progress"]) for r in summary["paragraphs"]
    ] == rows
    assert all(status == "done" for _num, _pb, status, _progress in rows)
    for row in summary["paragraphs"]:
        (sent,) = database.execute(
            "SELECT count(*) FROM delivery d JOIN message m ON m.id = d.message_id JOIN obligation o ON o.id = m.obligation_id "
            "WHERE o.playbook = ? AND d.status = 'sent'",
            (row["playbook"],),
        ).fetchone()
        assert row["sent"] == sent
        (rejected,) = database.execute(
            "SELECT count(*) FROM approval a JOIN obligation o ON o.id = a.obligation_id WHERE o.playbook = ? AND a.decision = 'rejected'",
            (row["playbook"],),
        ).fetchone()
        assert row["rejected"] == rejected
    assert sum(r["rejected"] for r in summary["paragraphs"]) == 1
    received, reviewed, reminded, invited = database.execute(
        "SELECT count(received_at), count(reviewed_at), count(reminded_at), count(invited_at) FROM submission"
    ).fetchone()
    positions = summary["positions"]
    assert (
        positions["received"],
        positions["reviewed"],
        positions["reminded"],
        positions["invited"],
    ) == (received, reviewed, reminded, invited)
    assert invited == 175 and 0.55 < received / invited < 0.65 and reminded > 0
    assert database.execute("SELECT count(*) FROM delivery WHERE status != 'sent'").fetchone() == (
        0,
    )
    assert summary["audit"]["intact"] is True
    (inbox_sent,) = database.execute(
        "SELECT count(*) FROM delivery WHERE channel = 'inbox' AND status = 'sent'"
    ).fetchone()
    assert summary["inbox"] == inbox_sent, "one file in the inbox per delivery sent there"
    (duplicates,) = database.execute(
        "SELECT count(*) FROM (SELECT message_id, recipient, channel FROM delivery GROUP BY 1, 2, 3 HAVING count(*) > 1)"
    ).fetchone()
    assert duplicates == 0


def test_demo_stamps_what_it_writes_on_the_replayed_clock(demo: tuple[Path, Any]) -> None:
    """Every writer asks the one clock: an audit event, document or delivery stamped with the
    machine's date would sit years after the approvals beside it in the demo's timeline."""
    data_dir, _summary = demo
    database = sqlite3.connect(data_dir / "operative.db")
    stamped: dict[str, int] = {}
    outside: list[tuple[str, str]] = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, UTCDateTime) or (table.name, column.name) in DEADLINES:
                continue
            values = [
                value
                for (value,) in database.execute(
                    f'SELECT "{column.name}" FROM "{table.name}" WHERE "{column.name}" IS NOT NULL'
                )
            ]
            stamped[f"{table.name}.{column.name}"] = len(values)
            outside += [
                (f"{table.name}.{column.name}", value)
                for value in values
                if not REPLAYED_FROM <= dt.datetime.fromisoformat(value) <= REPLAYED_UNTIL
            ]
    inbox = [json.loads(path.read_text()) for path in (data_dir / "inbox").glob("*.json")]
    outside += [
        ("inbox", message["received_at"])
        for message in inbox
        if not REPLAYED_FROM
        <= dt.datetime.fromisoformat(message["received_at"]).replace(tzinfo=None)
        <= REPLAYED_UNTIL
    ]
    assert outside == []
    for column in (
        "event.occurred_at",
        "document.created_at",
        "approval.requested_at",
        "approval.decided_at",
        "message.created_at",
        "delivery.sent_at",
        "delivery_attempt.finished_at",
        "submission.received_at",
    ):
        assert stamped[column] > 0, f"the demo wrote no {column}: the check above proves nothing"
    assert inbox, "the demo delivered nothing to the inbox"
