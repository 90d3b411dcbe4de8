"""The database: one engine per URL, SQLite pragmas, PostgreSQL by URL, and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction
starts with ``BEGIN IMMEDIATE``: with Python's default deferred transactions two writers
can both read, then both write, and one update is lost (or one fails with "database is
locked" after reading stale data). Taking the write lock at BEGIN serialises them instead.

A unit of work that only reads (a page view) runs on :func:`read_only` of the engine: its
transactions start with a deferred ``BEGIN``, which in WAL mode reads a snapshot beside a
writer and never waits for the write lock. The "begin" hook of :func:`make_engine` is the one
place that chooses between the two.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from operative.core.settings import REPO_ROOT, get_settings

MIGRATIONS_DIR = REPO_ROOT / "migrations"

# The execution option that marks a connection as a reader (see :func:`read_only`).
READ_ONLY_OPTION = "operative_read_only"

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for a plain ``postgresql://`` URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, busy_timeout_ms: int | None = None) -> Engine:
    """A new engine for ``url``, with the SQLite behaviour described in the module docstring."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)

    timeout_ms = busy_timeout_ms or get_settings().sqlite_busy_timeout_ms
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": timeout_ms / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        reader = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool, same hooks) for units of work that never write.

    On SQLite its transactions begin deferred, so they neither take nor wait for the write
    lock; a write attempted through it may fail with "database is locked" instead of waiting.
    On PostgreSQL it changes nothing: readers never wait for writers there.
    """
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the configured database), migrated to head."""
    url = normalise_url(url or get_settings().effective_database_url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        if url not in _migrated:
            upgrade(engine)
            _migrated.add(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not sa.inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the database to the newest migration; returns (before, after).

    Cheap when there is nothing to do: the version table is read first and Alembic's
    machinery only runs when the database is behind.
    """
    before = current_revision(engine)
    head = head_revision()
    if before != head:
        from alembic import command

        command.upgrade(_alembic_config(engine), "head")
    return before, head


def insert_ignoring_duplicates(
    session: Session, table: sa.Table, rows: list[dict[str, Any]]
) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows``, in the session's dialect (PostgreSQL or
    SQLite), to execute as it is or with ``.returning(...)`` for the rows it did insert."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(rows).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(rows).on_conflict_do_nothing()
