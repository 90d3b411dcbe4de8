"""``operative backup`` and ``operative restore``: thin wrappers over :mod:`operative.core.backup`.

The backup module (and SQLAlchemy with it) is imported inside the commands, so
``operative --help`` stays fast. A failed backup or restore is a
:class:`~operative.core.backup.BackupFailed`: one line, exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from operative.cli._common import fail

app = typer.Typer()


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (replaced if present).")],
) -> None:
    """Back up the database, safely while the service runs (SQLite online backup, pg_dump)."""
    from operative.core.backup import backup as make_backup

    outcome = make_backup(file)
    typer.echo(
        f"Backed up the {outcome.database} database to {outcome.path} ({outcome.size:,} bytes)."
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by operative backup.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Replace the database with a backup, all at once; refuses a non-empty one without --force."""
    from sqlmodel import Session

    from operative.core.audit import verify
    from operative.core.backup import restore as restore_backup
    from operative.core.db import get_engine

    outcome = restore_backup(file, force=force)
    with Session(get_engine()) as session:
        events, breaks = verify(session)
    if breaks:
        first = breaks[0]
        fail(f"restored, but the audit log breaks at event {first.event_id}: {first.reason}", 1)
    typer.echo(
        f"Restored {outcome.path} into the {outcome.database} database; "
        f"audit log intact: {events} events."
    )
