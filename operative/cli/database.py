"""``operative init``, ``operative db upgrade`` and ``operative audit verify``: the database
itself, its migrations and its hash-chained audit log."""

from __future__ import annotations

import typer

from operative.cli._common import JsonOption, open_session, print_json

app = typer.Typer()
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")


@app.command()
def init(as_json: JsonOption = False) -> None:
    """Create the data dir and database, and load the Member States."""
    from operative.register import bootstrap

    with open_session() as session:
        result = bootstrap.init(session)
        session.commit()
    if as_json:
        print_json(
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


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Check the audit log's hash chain; exit 1 and name the event where it breaks."""
    from operative.core.audit import verify

    with open_session() as session:
        count, breaks = verify(session)
    if as_json:
        print_json({"events": count, "ok": not breaks, "breaks": [b.__dict__ for b in breaks]})
    elif breaks:
        # One line, at the first break: later ones usually follow from it (--json lists all).
        first, more = breaks[0], len(breaks) - 1
        others = f" (and {more} more break{'s' if more > 1 else ''}; --json lists them)"
        typer.echo(f"event {first.event_id}: {first.reason}{others if more else ''}", err=True)
    else:
        typer.echo(f"Audit log intact: {count} events.")
    if breaks:
        raise typer.Exit(1)
