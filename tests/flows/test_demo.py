"""`operative demo` end to end: exit 0, and a summary that says what the database says."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import run_cli


def test_demo_exits_0_and_its_summary_matches_the_database(
    prefect_server: str, tmp_path: Path
) -> None:
    """The first thing a new user runs must work, and must not tell them anything untrue."""
    data_dir = tmp_path / "demo"
    result = run_cli("demo", "--data-dir", str(data_dir), "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
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
