"""``operative submissions …``: Member States' national positions, recorded and reviewed.

Given no ``--obligation``, each command works on the campaign the positions page shows first
(:func:`operative.playbooks.national_positions.campaign`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from operative.cli._common import (
    CONSOLE_ACTOR,
    AsUser,
    JsonOption,
    UsageProblem,
    open_session,
    print_json,
    require_acting,
    require_officer,
)

if TYPE_CHECKING:
    from operative.models import Submission

app = typer.Typer(help="Member States' national positions.", no_args_is_help=True)

CampaignOption = Annotated[int | None, typer.Option(help="The national-positions obligation.")]


def _readable(file: Path) -> tuple[bytes, str | None]:
    """The file's bytes, and its text when it is a text file."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"{file}: cannot read: {exc.strerror}") from None
    if file.suffix.lower() not in {".txt", ".md"}:
        return data, None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageProblem(f"{file}: not UTF-8 text") from None


@app.command("add")
def submissions_add(
    iso3: Annotated[str, typer.Argument(help="The Member State (ISO alpha-3).")],
    file: Annotated[Path, typer.Argument(help="The national position: a text or document file.")],
    obligation: CampaignOption = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record a Member State's national position received by the secretariat."""
    from operative.playbooks.national_positions import campaign, submit

    data, text = _readable(file)
    with open_session() as session:
        require_acting(session, actor, "record national positions")
        target = campaign(session, obligation)
        row = submit(session, target, iso3, text=text, attachment=(file.name, data), actor=actor)
        session.commit()
        typer.echo(f"National position of {row.member_state_iso3} recorded (submission {row.id}).")


@app.command("review")
def submissions_review(
    iso3: Annotated[str, typer.Argument(help="The Member State (ISO alpha-3).")],
    verdict: Annotated[str, typer.Argument(help="reflects, partially or does_not_reflect.")],
    obligation: CampaignOption = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record whether a national position reflects the resolution."""
    from operative.playbooks.national_positions import campaign, review

    with open_session() as session:
        require_officer(session, actor, "review submissions")
        target = campaign(session, obligation)
        row = review(session, target, iso3, verdict=verdict, reviewer=actor)
        session.commit()
        typer.echo(f"{row.member_state_iso3}: {row.verdict}.")


@app.command("list")
def submissions_list(as_json: JsonOption = False, obligation: CampaignOption = None) -> None:
    """National positions: invited, reminded, received, reviewed."""
    from sqlmodel import col, select

    from operative.i18n import local_time
    from operative.models import Submission
    from operative.playbooks.national_positions import campaign

    with open_session() as session:
        target = campaign(session, obligation)
        rows = session.exec(
            select(Submission)
            .where(Submission.obligation_id == target)
            .order_by(col(Submission.member_state_iso3))
        ).all()
    data = [_submission_json(row) for row in rows]
    if as_json:
        print_json(data)
        return
    received = sum(1 for r in rows if r.received_at)
    typer.echo(
        f"{len(rows)} invited, {received} received, {sum(1 for r in rows if r.verdict)} reviewed"
    )
    for row in rows:
        if row.received_at:
            # The local day, as the pages and reports show it (a UTC date can be the day before).
            received_on = local_time(row.received_at, "YYYY-MM-DD")
            verdict = row.verdict or "not reviewed"
            typer.echo(f"  {row.member_state_iso3}  received {received_on}  {verdict}")


def _submission_json(row: Submission) -> dict[str, Any]:
    return {
        "state": row.member_state_iso3,
        "invited_at": row.invited_at.isoformat() if row.invited_at else None,
        "reminded_at": row.reminded_at.isoformat() if row.reminded_at else None,
        "received_at": row.received_at.isoformat() if row.received_at else None,
        "verdict": row.verdict,
    }
