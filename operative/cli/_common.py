"""What the command modules share: a session, output, the officer check, and :class:`Group`,
the one place where an error becomes an exit code.

Imports beyond Typer happen inside the functions, so ``operative --help`` stays fast and never
loads Prefect, FastAPI or uvicorn.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from operative.errors import Invalid, OperativeError

if TYPE_CHECKING:
    from sqlmodel import Session

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
AsUser = Annotated[str, typer.Option("--as", help="The user acting (checked against roles).")]

# Who acts when a command's --as is left out: the secretariat at the console, vouched for by
# its access to the database itself. A name given with --as is checked (require_acting).
CONSOLE_ACTOR = "secretariat"


class UsageProblem(Invalid):
    """Bad command-line input: reported in one line, exit code 2."""


def require_acting(session: Session, actor: str, what: str) -> None:
    """Refuse a name given with ``--as`` unless it is an active user with an officer's role."""
    if actor != CONSOLE_ACTOR:
        require_officer(session, actor, what)


def require_officer(session: Session, actor: str, what: str) -> None:
    """Refuse ``actor`` unless it is an active user with an officer's (or admin's) role."""
    from operative.models import OFFICER_ROLES
    from operative.register.approvals import user_roles

    if not OFFICER_ROLES & set(user_roles(session, actor)):
        raise UsageProblem(f"{actor} may not {what}: it needs the role 'officer'")


def fail(message: str, code: int = 2) -> NoReturn:
    """End the command with a one-line message on stderr."""
    typer.echo(f"operative: {message}", err=True)
    raise typer.Exit(code)


def open_session() -> Session:
    """A session on the configured database, its objects still readable after commit."""
    from sqlmodel import Session

    from operative.core.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


NO_OBLIGATIONS = "No obligations yet: try `operative ingest FILE`."


def show_rows(data: list[Any], *, as_json: bool, empty: str, table: Callable[[], Any]) -> None:
    """Rows for a program (``--json``) or for a person: a Rich table, or a line saying what
    to do when there are none."""
    if as_json:
        print_json(data)
    elif not data:
        console().print(empty)
    else:
        console().print(table())


def console() -> Any:
    from rich.console import Console

    return Console()


def local(value: Any) -> str:
    """A stored UTC time shown in the configured zone (Geneva by default)."""
    from operative.i18n import local_or_dash

    return local_or_dash(value)


class Group(TyperGroup):
    """The ``operative`` command group: every command's errors end here, whatever its module.

    An :class:`~operative.errors.OperativeError` is one line on stderr and its ``exit_code``
    (DESIGN §6: 2 for bad input, 1 for a failure of the work). Settings that do not validate
    are bad input, a database that cannot be reached a failure of the work. Anything else is a
    bug: one line naming the log file that holds its traceback, exit code 1.
    """

    # The context is Typer's vendored click.Context, which Typer does not export by name.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own: usage, exit
            raise
        except OperativeError as exc:
            fail(_one_line(exc), exc.exit_code)
        except Exception as exc:
            _known_failure(exc)
            fail(f"internal error, see {_log_traceback(exc)}", code=1)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _known_failure(exc: Exception) -> None:
    """End the command for the two library errors that are not bugs; return for the rest."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        fail(f"database unavailable: {_one_line(exc.orig or exc)}", code=1)
    if isinstance(exc, ValidationError):  # the settings, from the environment or a .env file
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        fail(f"settings: {where}: {first['msg']}" if where else f"settings: {first['msg']}")


def _log_traceback(exc: Exception) -> Path | str:
    """Append the traceback to ``<data dir>/logs/cli-errors.log``; where it went."""
    from operative.core import clock
    from operative.core.settings import get_settings

    path = get_settings().data_dir / "logs" / "cli-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"{clock.now().isoformat()} operative {' '.join(sys.argv[1:])}\n")
            traceback.print_exception(exc, file=log)
    except OSError:  # no log to write: the traceback must not be lost
        traceback.print_exception(exc, file=sys.stderr)
        return "the traceback above"
    return path
