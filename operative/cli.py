"""The ``operative`` command line: thin wrappers over the core.

Imports beyond Typer happen inside the commands, so ``operative --help`` stays fast and never
loads Prefect. Bad input ends with one line on stderr and exit code 2; a failure of the work
itself with exit code 1.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from sqlmodel import Session

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="operative",
    help="Turn an adopted resolution into tracked, scheduled, approved and notified work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]


class UsageProblem(Exception):
    """Bad input: reported in one line, exit code 2."""


# Who acts when a command's --as is left out: the secretariat at the console, vouched for by
# its access to the database itself. A name given with --as is checked (require_acting).
CONSOLE_ACTOR = "secretariat"


def require_acting(session: Any, actor: str, what: str) -> None:
    """Refuse a name given with ``--as`` unless it is an active user with an officer's role."""
    if actor != CONSOLE_ACTOR:
        require_officer(session, actor, what)


def require_officer(session: Any, actor: str, what: str) -> None:
    """Refuse ``actor`` unless it is an active user with an officer's (or admin's) role."""
    from operative.models import OFFICER_ROLES
    from operative.register.approvals import user_roles

    if not OFFICER_ROLES & set(user_roles(session, actor)):
        raise UsageProblem(f"{actor} may not {what}: it needs the role 'officer'")


def fail(message: str, code: int = 2) -> NoReturn:
    """End the command with a one-line message on stderr."""
    typer.echo(f"operative: {message}", err=True)
    raise typer.Exit(code)


def _bad_input_types() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from operative.register.ingest import IngestConflict
    from operative.register.obligations import ConfigError, LifecycleError
    from operative.resolution import ResolutionParseError

    return (
        UsageProblem,
        ResolutionParseError,
        IngestConflict,
        ConfigError,
        LifecycleError,
        LookupError,
        ValidationError,
        ValueError,
    )


def _one_line(exc: BaseException) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"settings: {where}: {first['msg']}" if where else f"settings: {first['msg']}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return " ".join(str(exc).split())


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the core's exceptions into the exit codes of DESIGN §6."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                fail(f"database unavailable: {' '.join(str(exc.orig).split())}", code=1)
            if isinstance(exc, _bad_input_types()):
                fail(_one_line(exc))
            raise

    return wrapper


def _session() -> Session:
    from sqlmodel import Session

    from operative.core.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _console() -> Any:
    from rich.console import Console

    return Console()


def _local(value: Any) -> str:
    """A stored UTC time shown in the configured zone (Geneva by default)."""
    from operative.i18n import local_time

    return local_time(value) if value is not None else "—"


@app.command()
@handled
def init(as_json: JsonOption = False) -> None:
    """Create the data dir and database, and load the Member States."""
    from operative.register import bootstrap

    with _session() as session:
        result = bootstrap.init(session)
        session.commit()
    if as_json:
        _print_json(
            {
                "data_dir": str(result.data_dir),
                "database": result.database,
                "member_states": {
                    "added": result.member_states_added,
                    "updated": result.member_states_updated,
                    "total": result.member_states_total,
                },
            }
        )
        return
    typer.echo(f"Data dir:      {result.data_dir}")
    typer.echo(f"Database:      {result.database} (migrated to the newest version)")
    typer.echo(
        f"Member States: {result.member_states_total} "
        f"({result.member_states_added} added, {result.member_states_updated} updated)"
    )


@db_app.command("upgrade")
@handled
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from operative.core.db import make_engine, upgrade
    from operative.core.settings import get_settings

    engine = make_engine(get_settings().effective_database_url)
    before, after = upgrade(engine)
    engine.dispose()
    if before == after:
        typer.echo(f"Database already at {after}.")
    else:
        typer.echo(f"Database upgraded from {before or 'empty'} to {after}.")


def _parse_dates(values: list[str]) -> dict[str, Any]:
    from operative.register.ingest import parse_date

    dates: dict[str, Any] = {}
    for value in values:
        name, sep, day = value.partition("=")
        if not sep or not name.strip():
            raise UsageProblem(f"--date {value!r}: expected NAME=YYYY-MM-DD")
        dates[name.strip()] = parse_date(day.strip(), f"--date {name.strip()}")
    return dates


@app.command()
@handled
def ingest(
    file: Annotated[
        Path, typer.Argument(help="The resolution: text, Markdown or Akoma Ntoso XML.")
    ],
    as_json: JsonOption = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Update a registered resolution whose text changed.")
    ] = False,
    date: Annotated[
        list[str] | None,
        typer.Option(
            "--date",
            help="A key date for deadlines, NAME=YYYY-MM-DD (repeatable); "
            "adds to FILE's .yaml sidecar.",
        ),
    ] = None,
) -> None:
    """Parse a resolution and register its paragraphs and obligations."""
    from operative.register.ingest import ingest as ingest_resolution
    from operative.register.ingest import resolution_document, sidecar_dates
    from operative.resolution import parse_bytes

    source = str(file)
    try:
        data = file.read_bytes()
    except IsADirectoryError:
        raise UsageProblem(f"{source}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageProblem(f"{source}: cannot read: {exc.strerror}") from None
    parsed = parse_bytes(data, source=source)
    dates = {**sidecar_dates(file), **_parse_dates(date or [])}
    with _session() as session:
        result = ingest_resolution(
            session,
            parsed,
            source_name=file.name,
            source_text=_decoded(data),
            dates=dates,
            replace=replace,
        )
        session.commit()
        document = resolution_document(session, result.resolution)
    if as_json:
        _print_json(document)
        return
    _show_ingest(document, result.outcome, result)


def _decoded(data: bytes) -> str:
    """The text as the parser read it (it accepts UTF-8, with or without BOM, and UTF-16)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _show_ingest(document: dict[str, Any], outcome: str, result: Any) -> None:
    from rich.table import Table

    res = document["resolution"]
    console = _console()
    verb = {
        "created": "Registered",
        "unchanged": "Already registered, unchanged:",
        "replaced": "Replaced",
    }
    console.print(
        f"[bold]{verb[outcome]}[/bold] {res['body']} resolution {res['number']} "
        f"(id {res['id']}): {res['title']}"
    )
    console.print(
        f"{len(document['preambular'])} preambular and {len(document['operative'])} "
        "operative paragraphs"
    )
    if outcome == "replaced":
        changes = {"changed": result.changed, "added": result.added, "withdrawn": result.withdrawn}
        console.print("; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in changes.items()))
    table = Table("OP", "Verb (as written)", "Addressee")
    table.add_column("Playbook", no_wrap=True)
    table.add_column("Due (Geneva)", no_wrap=True)
    by_num = {o["paragraph"]: o for o in document["obligations"]}
    for paragraph in document["operative"]:
        obligation = by_num.get(paragraph["num"], {})
        due = obligation.get("due_at")
        table.add_row(
            paragraph["num"],
            f"{paragraph['verb'] or '?'} ({paragraph['verb_text'] or '—'})",
            paragraph["addressee"] or "—",
            obligation.get("playbook", "—"),
            _local(dt.datetime.fromisoformat(due)) if due else "—",
        )
    console.print(table)


@app.command()
@handled
def resolutions(as_json: JsonOption = False) -> None:
    """List the registered resolutions."""
    from sqlmodel import col, select

    from operative.models import Obligation, Paragraph, Resolution

    with _session() as session:
        rows = session.exec(select(Resolution).order_by(col(Resolution.id))).all()
        counts: dict[int, int] = {}
        for resolution_id in session.exec(
            select(Paragraph.resolution_id).join(
                Obligation, col(Obligation.paragraph_id) == Paragraph.id
            )
        ):
            counts[resolution_id] = counts.get(resolution_id, 0) + 1
    data = [
        {
            "id": r.id,
            "body": r.body,
            "number": r.number,
            "session": r.session,
            "adopted_on": r.adopted_on.isoformat() if r.adopted_on else None,
            "title": r.title,
            "language": r.language,
            "obligations": counts.get(r.id or 0, 0),
            "work_uri": r.work_uri,
        }
        for r in rows
    ]
    if as_json:
        _print_json(data)
        return
    from rich.table import Table

    table = Table("ID", "Body", "No.", "Adopted", "Lang", "Obligations", "Title")
    for r in rows:
        table.add_row(
            str(r.id),
            r.body,
            r.number,
            r.adopted_on.isoformat() if r.adopted_on else "—",
            r.language,
            str(counts.get(r.id or 0, 0)),
            r.title,
        )
    _console().print(table if data else "No resolutions yet: try `operative ingest FILE`.")


@app.command()
@handled
def obligations(
    as_json: JsonOption = False,
    resolution: Annotated[
        int | None, typer.Option("--resolution", help="Only this resolution's obligations.")
    ] = None,
) -> None:
    """List the obligations in the register, with their status."""
    from sqlmodel import col, select

    from operative.models import Obligation, Paragraph, Resolution
    from operative.register.obligations import is_overdue

    with _session() as session:
        if resolution is not None and session.get(Resolution, resolution) is None:
            raise UsageProblem(f"no resolution with id {resolution}")
        query = (
            select(Obligation, Paragraph, Resolution)
            .join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
            .join(Resolution, col(Paragraph.resolution_id) == Resolution.id)
            .order_by(col(Resolution.id), col(Paragraph.position))
        )
        if resolution is not None:
            query = query.where(Resolution.id == resolution)
        rows = session.exec(query).all()
    data = [
        {
            "id": o.id,
            "resolution": r.id,
            "paragraph": p.num,
            "playbook": o.playbook,
            "kind": o.kind,
            "actor": o.actor,
            "actor_role": o.actor_role,
            "due_at": o.due_at.isoformat().replace("+00:00", "Z") if o.due_at else None,
            "status": o.status,
            "overdue": is_overdue(o),
            "progress": o.progress,
        }
        for o, p, r in rows
    ]
    if as_json:
        _print_json(data)
        return
    from rich.table import Table

    # One resolution fits the table's title; several need a column to tell them apart.
    several = len({r.id for _o, _p, r in rows}) > 1
    title = None if several or not rows else f"{rows[0][2].body} resolution {rows[0][2].number}"
    table = Table("ID", *(["Res."] if several else []), "OP", title=title)
    table.add_column("Playbook", no_wrap=True)
    table.add_column("Actor")
    table.add_column("Due (Geneva)", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for (o, p, r), item in zip(rows, data, strict=True):
        status = f"{o.status} [red]late[/red]" if item["overdue"] else str(o.status)
        table.add_row(
            str(o.id),
            *([r.number] if several else []),
            p.num,
            o.playbook,
            o.actor or "—",
            _local(o.due_at),
            status,
        )
    _console().print(table if data else "No obligations yet: try `operative ingest FILE`.")


@app.command()
@handled
def reassign(
    obligation: Annotated[int, typer.Argument(help="The obligation's id.")],
    playbook: Annotated[str, typer.Argument(help="The playbook to give it.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    actor: Annotated[str, typer.Option("--as", help="Who reassigns it.")] = CONSOLE_ACTOR,
) -> None:
    """Give an obligation another playbook (kept when the resolution is re-ingested)."""
    from operative.register.obligations import reassign as reassign_playbook

    with _session() as session:
        require_acting(session, actor, "reassign playbooks")
        result = reassign_playbook(session, obligation, playbook, actor=actor, reason=reason)
        session.commit()
    typer.echo(f"Obligation {result.id} now follows {result.playbook}.")


@app.command("member-states")
@handled
def member_states(
    as_json: JsonOption = False,
    language: Annotated[
        str | None, typer.Option(help="Only states corresponding in this language (en, fr, es).")
    ] = None,
) -> None:
    """List the Member States with their names in English, French and Spanish."""
    from sqlmodel import col, select

    from operative.i18n import LANGUAGE_NAMES, LANGUAGES
    from operative.models import MemberState

    if language is not None and language not in LANGUAGES:
        raise UsageProblem(f"--language {language!r}: expected en, fr or es")
    with _session() as session:
        query = select(MemberState).order_by(col(MemberState.iso3))
        if language:
            query = query.where(MemberState.language == language)
        rows = session.exec(query).all()
    if as_json:
        _print_json([row.model_dump() for row in rows])
        return
    if not rows:
        _console().print("No Member States loaded: run `operative init`.")
        return
    from rich.table import Table

    table = Table(
        "ISO3",
        *(LANGUAGE_NAMES[language] for language in LANGUAGES),
        "Lang",
        "Since",
        title=f"{len(rows)} Member States",
    )
    for row in rows:
        table.add_row(
            row.iso3,
            row.name_en,
            row.name_fr,
            row.name_es,
            row.language,
            str(row.joined_year or "—"),
        )
    _console().print(table)


@app.command()
@handled
def akn(
    resolution: Annotated[int, typer.Argument(help="The resolution's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export a registered resolution as Akoma Ntoso XML (AKN4UN naming)."""
    from operative.models import Resolution
    from operative.resolution import parse_text, to_akn

    with _session() as session:
        row = session.get(Resolution, resolution)
        if row is None:
            raise UsageProblem(f"no resolution with id {resolution}")
        xml = to_akn(parse_text(row.source_text, source=row.source_name))
    if output is None:
        sys.stdout.buffer.write(xml)
        return
    output.write_bytes(xml)
    typer.echo(f"Wrote {output} ({len(xml):,} bytes).")


@audit_app.command("verify")
@handled
def audit_verify(as_json: JsonOption = False) -> None:
    """Check the audit log's hash chain; exit 1 and name the event where it breaks."""
    from operative.core.audit import verify

    with _session() as session:
        count, breaks = verify(session)
    if as_json:
        _print_json({"events": count, "ok": not breaks, "breaks": [b.__dict__ for b in breaks]})
    elif breaks:
        # One line, at the first break: later ones usually follow from it (--json lists all).
        first, more = breaks[0], len(breaks) - 1
        others = f" (and {more} more break{'s' if more > 1 else ''}; --json lists them)"
        typer.echo(f"event {first.event_id}: {first.reason}{others if more else ''}", err=True)
    else:
        typer.echo(f"Audit log intact: {count} events.")
    if breaks:
        raise typer.Exit(1)


from operative.notify.cli import register as _register_notify_commands  # noqa: E402

_register_notify_commands(app)

from operative.cli_work import register as _register_work_commands  # noqa: E402

_register_work_commands(app)

from operative.cli_serve import register as _register_serve_commands  # noqa: E402

_register_serve_commands(app)

from operative.cli_backup import register as _register_backup_commands  # noqa: E402

_register_backup_commands(app)

from operative.cli_web import register as _register_web_commands  # noqa: E402

_register_web_commands(app)


def main() -> None:
    """Entry point of the ``operative`` script."""
    app()
