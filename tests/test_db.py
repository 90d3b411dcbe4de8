"""The database layer: pragmas, migrations on first use, and writers that lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from operative.core import audit
from operative.core.db import current_revision, get_engine, head_revision, make_engine
from operative.models import Event
from tests.conftest import run_cli


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """WAL lets readers work beside a writer; foreign keys keep orphans out."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}", busy_timeout_ms=4321)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    engine.dispose()


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """A second writer must wait at BEGIN, before it reads, or read-then-write loses updates."""
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    first, second = make_engine(url), make_engine(url, busy_timeout_ms=50)
    with first.begin() as held:
        held.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        with pytest.raises(sa.exc.OperationalError, match="locked"), second.begin() as other:
            other.exec_driver_sql("SELECT 1")
    first.dispose()
    second.dispose()


def test_first_use_migrates_an_empty_database_to_head(db_url: str) -> None:
    """Nobody should have to remember a migration step before the first command."""
    engine = get_engine(db_url)
    assert current_revision(engine) == head_revision()
    assert {"resolution", "paragraph", "obligation", "event"} <= set(
        sa.inspect(engine).get_table_names()
    )


def test_db_upgrade_command_reports_and_is_idempotent(db_url: str) -> None:
    """`operative db upgrade` on a new database migrates it; a second run changes nothing."""
    first = run_cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "upgraded from empty to" in first.stdout
    second = run_cli("db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert "already at" in second.stdout


def _append_events(url: str, writer: int, count: int) -> None:
    engine = make_engine(url)
    for index in range(count):
        with Session(engine) as session:
            audit.append(session, actor=f"writer-{writer}", kind="test", subject=f"n:{index}")
            session.commit()
    engine.dispose()


def test_concurrent_writers_keep_one_unbroken_audit_chain(db_url: str) -> None:
    """Appending reads the last hash then writes: without a write lock at BEGIN the chain forks."""
    get_engine(db_url)  # migrate once, before the writers race
    writers, per_writer = 4, 40
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_events, args=(db_url, writer, per_writer))
        for writer in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    with Session(get_engine(db_url)) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == writers * per_writer
        count, breaks = audit.verify(session)
    assert count == writers * per_writer
    assert breaks == []


def test_migrations_build_exactly_the_tables_the_models_describe(db_url: str) -> None:
    """A model change without its migration would work in tests and break every existing install."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import operative.models  # noqa: F401  (registers every table)

    engine = get_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
