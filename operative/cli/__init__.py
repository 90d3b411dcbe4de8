"""The ``operative`` command line: thin wrappers over the core, one module per command group.

This module builds the Typer app and adds each module's commands; :class:`~._common.Group`
turns every command's errors into its exit code (0 success, 1 a failure of the work, 2 bad
input, DESIGN §6). No module here imports this one, and imports beyond Typer happen inside the
commands, so ``operative --help`` stays fast and loads no Prefect, FastAPI or uvicorn.
"""

from __future__ import annotations

import typer

from operative.cli import (
    approvals,
    backup,
    database,
    notify,
    records,
    resolutions,
    serve,
    submissions,
    users,
    web,
    work,
)
from operative.cli._common import Group

app = typer.Typer(
    name="operative",
    cls=Group,
    help="Turn an adopted resolution into tracked, scheduled, approved and notified work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Modules without a group name add their commands (and groups) at the top level.
for module in (database, resolutions, work, approvals, records, notify, serve, backup, web):
    app.add_typer(module.app)
app.add_typer(users.app, name="users")
app.add_typer(submissions.app, name="submissions")


def main() -> None:
    """Entry point of the ``operative`` script."""
    app()
