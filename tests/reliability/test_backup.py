"""``operative backup`` / ``operative restore`` on SQLite and PostgreSQL.

A backup is only worth what its restore gives back: every test restores what it backed up
into another, empty database and compares the rows and the audit chain.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from operative.cli import app
from operative.core import audit
from operative.core.backup import backup, restore
from operative.core.db import dispose_engines, get_engine, make_engine, normalise_url, session_scope
from operative.core.settings import get_settings
from tests.conftest import SEED
from tests.factories import row_counts

runner = CliRunner()


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI (and get_settings) at ``url``."""
    monkeypatch.setenv("OPERATIVE_DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_engines()


def _other_database(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second, empty database of the same kind as ``db_url`` (dropped after the test)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'operative.db'}"
    server = sa.engine.make_url(normalise_url(db_url))
    name = f"{server.database}_restored"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        dispose_engines()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    request.addfinalizer(drop)
    return server.set(database=name).render_as_string(hide_password=False)


def _fill(url: str) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0
    with session_scope(url) as session:
        for index in range(20):
            audit.append(session, actor="officer", kind="test", subject=f"n:{index}")


def _verify(url: str) -> tuple[int, list[audit.ChainBreak]]:
    with Session(get_engine(url)) as session:
        return audit.verify(session)


def test_backup_and_restore_round_trip_rows_and_audit_chain(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a backup that misses a table or rows (the audit head, a sequence), and a
    restore that does not give back a register whose chain verifies."""
    _fill(db_url)
    before = row_counts(db_url)
    file = tmp_path / "register.backup"
    made = runner.invoke(app, ["backup", str(file)])
    assert made.exit_code == 0, made.stderr
    assert file.stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    target = _other_database(db_url, tmp_path, request)
    _use(target, monkeypatch)
    restored = runner.invoke(app, ["restore", str(file)])
    assert restored.exit_code == 0, restored.stderr
    assert "audit log intact" in restored.stdout
    assert row_counts(target) == before
    count, breaks = _verify(target)
    assert breaks == [] and count == before["event"]
    # The restored register carries on: sequences and the chain head continue.
    with session_scope(target) as session:
        audit.append(session, actor="officer", kind="test", subject="after restore")
    assert _verify(target)[1] == []
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_restore_refuses_a_non_empty_database_unless_forced(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a restore that silently overwrites a live register, and a forced one that
    leaves rows of the old register behind."""
    _fill(db_url)
    file = tmp_path / "register.backup"
    assert runner.invoke(app, ["backup", str(file)]).exit_code == 0
    with session_scope(db_url) as session:
        audit.append(session, actor="officer", kind="test", subject="after the backup")
    grown = row_counts(db_url)

    refused = runner.invoke(app, ["restore", str(file)])
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1 and "--force" in refused.stderr
    assert row_counts(db_url) == grown

    forced = runner.invoke(app, ["restore", str(file), "--force"])
    assert forced.exit_code == 0, forced.stderr
    restored = row_counts(db_url)
    assert restored["event"] == grown["event"] - 1
    assert _verify(db_url)[1] == []


def _write_while_backing_up(url: str, stop: threading.Event, written: list[int]) -> None:
    engine = make_engine(url)
    try:
        while not stop.is_set():
            with Session(engine) as session:
                audit.append(session, actor="writer", kind="test", subject="busy")
                session.commit()
            written.append(1)
    finally:
        engine.dispose()


def test_a_backup_taken_while_another_thread_writes_is_consistent(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a backup copied table by table or page by page without one snapshot: an event
    without its chain head, or a head pointing at an event the copy lacks."""
    _fill(db_url)
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_while_backing_up, args=(db_url, stop, written))
    writer.start()
    files = []
    try:
        for index in range(3):
            file = tmp_path / f"busy-{index}.backup"
            backup(file)
            files.append(file)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert len(written) > 0, "the writer never wrote while the backups ran"
    final = row_counts(db_url)["event"]

    target = _other_database(db_url, tmp_path, request)
    _use(target, monkeypatch)
    seen = []
    for file in files:
        restore(file, force=True)
        count, breaks = _verify(target)
        assert breaks == [], (file.name, breaks)
        seen.append(count)
    assert seen == sorted(seen) and seen[-1] <= final


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"",
        b"not a backup at all\n",
        b"SQLite format 3\x00" + b"\x00" * 200,
        b"PGDMP\x01",
        b"truncated",
    ],
    ids=["missing", "empty", "text", "damaged-sqlite", "damaged-pgdump", "truncated"],
)
def test_restore_of_bad_input_exits_2_with_one_line_and_changes_nothing(
    db_url: str, tmp_path: Path, content: bytes | None
) -> None:
    """Catches a traceback, or a half-restored database, when the file is missing, empty,
    not a backup, a damaged one of either kind, or a real one cut short."""
    _fill(db_url)
    before = row_counts(db_url)
    file = tmp_path / "suspect.backup"
    if content == b"truncated":
        # A real backup of this database, cut short: the restore must fail as a whole.
        backup(file)
        file.write_bytes(file.read_bytes()[: file.stat().st_size * 2 // 3])
    elif content is not None:
        file.write_bytes(content)
    result = runner.invoke(app, ["restore", str(file), "--force"])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("operative: ")
    assert row_counts(db_url) == before
    assert _verify(db_url)[1] == []


def test_backup_to_a_missing_directory_or_a_directory_exits_2(db_url: str, tmp_path: Path) -> None:
    """Catches a traceback when the destination cannot be written."""
    _fill(db_url)
    for destination in (tmp_path / "no" / "such" / "file.backup", tmp_path):
        result = runner.invoke(app, ["backup", str(destination)])
        assert result.exit_code == 2, (result.stderr, result.exception)
        assert len(result.stderr.splitlines()) == 1, result.stderr


def test_a_sqlite_backup_does_not_restore_into_postgresql(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a restore that feeds a SQLite file to pg_restore (or the reverse)."""
    sqlite_url = f"sqlite:///{tmp_path / 'operative.db'}"
    _use(sqlite_url, monkeypatch)
    _fill(sqlite_url)
    file = tmp_path / "sqlite.backup"
    assert runner.invoke(app, ["backup", str(file)]).exit_code == 0
    _use(postgres_url, monkeypatch)
    result = runner.invoke(app, ["restore", str(file)])
    assert result.exit_code == 2
    assert "cannot be restored into PostgreSQL" in result.stderr
    assert os.path.getsize(file) > 0


_CRASHED_WRITER = """
import os, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA wal_autocheckpoint=0")
for index in range(50):
    connection.execute("UPDATE resolution SET title = ?", (f"forged {index}",))
os._exit(0)  # no close, no checkpoint: the frames stay in the -wal file
"""


def test_a_sqlite_restore_does_not_replay_a_crashed_process_write_ahead_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches a restore that renames the backup over the database but leaves the old
    database's -wal file beside it: SQLite would replay those frames into the restored file."""
    url = f"sqlite:///{tmp_path / 'operative.db'}"
    _use(url, monkeypatch)
    _fill(url)
    file = tmp_path / "register.backup"
    backup(file)
    before = row_counts(url)
    dispose_engines()
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHED_WRITER, str(tmp_path / "operative.db")], timeout=60
    )
    assert crashed.returncode == 0
    assert (tmp_path / "operative.db-wal").stat().st_size > 0

    restore(file, force=True)
    assert row_counts(url) == before
    with Session(get_engine(url)) as session:
        titles = session.exec(sa.text("SELECT title FROM resolution")).all()  # type: ignore[call-overload]
        assert not any(title.startswith("forged") for (title,) in titles)
        assert session.exec(sa.text("PRAGMA quick_check")).one()[0] == "ok"  # type: ignore[call-overload]
    assert _verify(url)[1] == []
