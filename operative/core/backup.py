"""Backing up and restoring the register: SQLite's online backup API, PostgreSQL's pg_dump.

A SQLite backup is a copy made with ``sqlite3.Connection.backup`` from one read snapshot, so
it is consistent while the service writes (WAL readers do not block writers); it is written
beside its destination and renamed into place. A PostgreSQL backup is ``pg_dump`` in its custom
format, which reads one snapshot too, and is restored by ``pg_restore`` in a single
transaction. A restore refuses a database that holds any row unless forced, checks that the
file is a backup of this application first, and replaces the database all at once: a SQLite
restore is copied beside the database and renamed over it, a PostgreSQL one commits or leaves
the database as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from operative.core.db import dispose_engines, make_engine, normalise_url
from operative.core.settings import get_settings
from operative.errors import Invalid, OperativeError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Tables every operative database has; a file without them is not one of our backups.
_REQUIRED_TABLES = {"alembic_version", "event", "resolution"}
_TOOL_TIMEOUT_S = 3600


class BackupError(Invalid):
    """Bad input for a backup or restore (a missing file, not a backup, a non-empty target)."""


class BackupFailed(OperativeError):
    """The backup or restore itself failed (the database or a tool refused)."""


@dataclass(frozen=True)
class Outcome:
    """What was written where."""

    path: Path
    database: str
    size: int


def _url(url: str | None) -> sa.engine.URL:
    return sa.engine.make_url(normalise_url(url or get_settings().effective_database_url))


def _sqlite_path(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _temporary_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def backup(destination: Path, url: str | None = None) -> Outcome:
    """Write a backup of the database to ``destination`` (replaced if it exists)."""
    target = _url(url)
    if destination.is_dir():
        raise BackupError(f"{destination}: is a directory, not a file")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination.parent}: no such directory")
    partial = _temporary_beside(destination)
    try:
        if target.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(target), partial)
        elif target.get_backend_name() == "postgresql":
            _run_pg_tool("pg_dump", target, ["--format=custom", "--no-owner", f"--file={partial}"])
        else:
            raise BackupError(f"backup of {target.get_backend_name()} databases is not supported")
        os.replace(partial, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Outcome(destination, target.get_backend_name(), destination.stat().st_size)


def _sqlite_backup(source: Path, partial: Path) -> None:
    if not source.is_file():
        raise BackupError(f"{source}: no database here yet (run operative init)")
    timeout = get_settings().sqlite_busy_timeout_ms / 1000
    with (
        contextlib.closing(sqlite3.connect(source, timeout=timeout)) as live,
        contextlib.closing(sqlite3.connect(partial)) as copy,
    ):
        # One step (pages=-1): the whole copy comes from a single read snapshot.
        live.backup(copy, pages=-1)


def restore(source: Path, url: str | None = None, *, force: bool = False) -> Outcome:
    """Replace the database with the backup in ``source``; refuses a non-empty one unless
    ``force``."""
    target = _url(url)
    kind = _backup_kind(source)
    backend = target.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise BackupError(f"restore into {backend} databases is not supported")
    if kind != backend:
        raise BackupError(
            f"{source}: a {_NAMES[kind]} backup cannot be restored into {_NAMES[backend]}"
        )
    if not force:
        rows = _rows_in(target)
        if rows:
            raise BackupError(
                f"the database is not empty ({rows:,} rows); use --force to replace it"
            )
    dispose_engines()
    if backend == "sqlite":
        _sqlite_restore(source, _sqlite_path(target))
    else:
        contents = _run_pg_tool("pg_restore", target, ["--list", str(source)], bad_input=True)
        if not all(f" TABLE public {table} " in contents for table in _REQUIRED_TABLES):
            raise BackupError(f"{source}: a pg_dump archive, but not of an operative database")
        _run_pg_tool(
            "pg_restore",
            target,
            [
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                str(source),
            ],
        )
    dispose_engines()
    return Outcome(source, backend, source.stat().st_size)


_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _backup_kind(source: Path) -> str:
    try:
        with source.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise BackupError(f"{source}: is a directory, not a backup") from None
    except OSError as exc:
        raise BackupError(f"{source}: cannot read: {exc.strerror}") from None
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{source}: not an operative backup (neither SQLite nor pg_dump custom)")


def _rows_in(target: sa.engine.URL) -> int:
    """Rows in every table but the migration marker (0 for a database not created yet)."""
    if target.get_backend_name() == "sqlite" and not _sqlite_path(target).exists():
        return 0
    engine = make_engine(target.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            return sum(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
                for table in tables
                if table != "alembic_version"
            )
    finally:
        engine.dispose()


def _check_sqlite_backup(path: Path, shown: Path) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from operative.core.db import MIGRATIONS_DIR

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
            tables = {
                row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not tables >= _REQUIRED_TABLES:
                raise BackupError(f"{shown}: a SQLite database, but not an operative one")
            check = copy.execute("PRAGMA quick_check").fetchone()
            revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown}: not a readable backup ({exc})") from None
    if check is None or check[0] != "ok":
        raise BackupError(f"{shown}: damaged ({check[0] if check else 'no answer'})")
    if revision is None:
        raise BackupError(f"{shown}: an operative database without its migration version")
    try:
        ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(str(revision[0]))
    except CommandError:
        raise BackupError(
            f"{shown}: made by a newer operative (migration {revision[0]!r} unknown here)"
        ) from None


def _sqlite_restore(source: Path, database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary_beside(database)
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as saved,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            saved.backup(copy, pages=-1)
        _check_sqlite_backup(partial, source)
        if database.exists():
            # The old database's write-ahead log must not be replayed into the new file:
            # fold it into the old file and empty it, then the rename swaps whole databases.
            with contextlib.closing(sqlite3.connect(database)) as old:
                busy = old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy and busy[0]:
                raise BackupFailed("the database is in use: stop the service, then restore")
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                database.with_name(database.name + suffix).unlink()
        os.replace(partial, database)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: not a readable backup ({exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program: on PATH, else the newest Debian install."""
    found = shutil.which(name)
    if found:
        return found
    installed = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not installed:
        raise BackupFailed(f"{name} not found: install the PostgreSQL client programs")
    return str(installed[-1])


def _run_pg_tool(
    name: str,
    target: sa.engine.URL,
    args: list[str],
    *,
    bad_input: bool = False,
) -> str:
    """Run ``name`` against ``target`` (``--list`` reads only the file); returns its output."""
    # The password goes by environment, never on a command line others can read in ps.
    env = {**os.environ}
    if target.password is not None:
        env["PGPASSWORD"] = str(target.password)
    dbname = target.set(drivername="postgresql", password=None).render_as_string()
    command = [pg_tool(name), *args]
    if "--list" not in args:
        command.insert(1, f"--dbname={dbname}")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=_TOOL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise BackupFailed(f"{name} did not finish within {_TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = " ".join(lines[0].split()) if lines else f"exit code {done.returncode}"
        if bad_input:
            raise BackupError(f"{args[-1]}: not a readable backup ({reason})")
        raise BackupFailed(f"{name} failed: {reason}")
    return done.stdout
