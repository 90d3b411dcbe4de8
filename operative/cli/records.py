"""``operative activities add`` and ``operative records add``: facts recorded against an
obligation (engagement activities, acknowledgements, evidence of work done)."""

from __future__ import annotations

from typing import Annotated

import typer

from operative.cli._common import CONSOLE_ACTOR, AsUser, open_session, require_acting

app = typer.Typer()
activities_app = typer.Typer(
    help="Engagement activities (migrants' perspectives).", no_args_is_help=True
)
records_app = typer.Typer(help="Facts recorded against an obligation.", no_args_is_help=True)
app.add_typer(activities_app, name="activities")
app.add_typer(records_app, name="records")


@activities_app.command("add")
def activities_add(
    obligation: Annotated[int, typer.Argument(help="The migrants' perspectives obligation.")],
    title: Annotated[str, typer.Argument(help="What took place.")],
    on: Annotated[str, typer.Option("--on", help="Its date, YYYY-MM-DD.")],
    kind: Annotated[
        str,
        typer.Option(
            help="consultation, dialogue, panel, side_event, survey, workshop, publication, other."
        ),
    ] = "other",
    migrants_spoke: Annotated[
        bool,
        typer.Option(
            "--migrants-spoke/--no-migrants-spoke", help="Whether migrants themselves spoke."
        ),
    ] = False,
    evidence: Annotated[
        str | None, typer.Option(help="A link to evidence (minutes, recording).")
    ] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Log an engagement activity."""
    from operative.register.ingest import parse_date
    from operative.register.records import add_activity

    day = parse_date(on, "--on")
    with open_session() as session:
        require_acting(session, actor, "log activities")
        row = add_activity(
            session,
            obligation,
            occurred_on=day,
            kind=kind,
            title=title,
            migrants_spoke=migrants_spoke,
            actor=actor,
            evidence_url=evidence,
        )
        session.commit()
        typer.echo(f"Activity {row.id} recorded for {day.isoformat()}.")


@records_app.command("add")
def records_add(
    obligation: Annotated[int, typer.Argument(help="The obligation's id.")],
    kind: Annotated[
        str, typer.Argument(help="acknowledgement, usage, affirmation, evidence or note.")
    ],
    text: Annotated[str, typer.Argument(help="What happened.")],
    reference: Annotated[str | None, typer.Option(help="A reference or link.")] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record a fact: the PGA's acknowledgement, a use of the statement, evidence of work done."""
    from operative.register.records import add_record

    with open_session() as session:
        require_acting(session, actor, "record facts")
        row = add_record(
            session, obligation, kind=kind, text=text, actor=actor, reference=reference
        )
        session.commit()
        typer.echo(f"Record {row.id} ({kind}) added to obligation {obligation}.")
