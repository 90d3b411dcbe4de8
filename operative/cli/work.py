"""Commands for the work itself: run a playbook, see where everything stands, replay the demo,
export the deadlines.

Only ``run`` and ``demo`` load the orchestrator (Prefect), and only once their input has been
checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from operative.cli._common import (
    NO_OBLIGATIONS,
    JsonOption,
    UsageProblem,
    local,
    open_session,
    print_json,
    require_officer,
    show_rows,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from operative.reporting.read_model import ObligationLine

app = typer.Typer()


def _obligations_to_run(
    session: Session, playbook: str, resolution: int | None, obligation: int | None
) -> list[int]:
    """The obligations ``run`` works on: the one named, else the resolution's of ``playbook``."""
    from sqlmodel import col, select

    from operative.models import Obligation, Paragraph, Resolution
    from operative.playbooks import Playbook

    if playbook not in {known.value for known in Playbook}:
        raise UsageProblem(f"unknown playbook {playbook!r} (known: {', '.join(Playbook)})")
    if resolution is not None and session.get(Resolution, resolution) is None:
        raise UsageProblem(f"no resolution with id {resolution}")
    query = select(Obligation).join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
    if resolution is not None:
        query = query.where(Paragraph.resolution_id == resolution)
    if obligation is not None:
        named = query.where(Obligation.id == obligation)
        _check_named(session, named, obligation, playbook=playbook, resolution=resolution)
        return [obligation]
    rows = session.exec(
        query.where(Obligation.playbook == playbook).order_by(col(Obligation.id))
    ).all()
    if not rows:
        raise UsageProblem(f"resolution {resolution} has no obligation following {playbook}")
    return [row.id for row in rows if row.id is not None]


def _check_named(
    session: Session, query: Any, obligation: int, *, playbook: str, resolution: int | None
) -> None:
    """Refuse an ``--obligation`` that is unknown, of another resolution or another playbook."""
    from operative.models import Obligation

    found = session.get(Obligation, obligation)
    if found is None:
        raise UsageProblem(f"no obligation with id {obligation}")
    if not session.exec(query).all():
        raise UsageProblem(f"obligation {obligation} is not part of resolution {resolution}")
    if found.playbook != playbook:
        raise UsageProblem(f"obligation {obligation} follows {found.playbook}, not {playbook}")


@app.command()
def run(
    playbook: Annotated[str, typer.Argument(help="The playbook to run.")],
    resolution: Annotated[int, typer.Option("--resolution", help="The resolution's id.")],
    actor: Annotated[
        str, typer.Option("--as", help="The officer running it: the drafter, for four-eyes.")
    ],
    obligation: Annotated[
        int | None, typer.Option("--obligation", help="Only this obligation.")
    ] = None,
) -> None:
    """Run a playbook's flow for a resolution's obligations (waits where a person must decide)."""
    from operative.core.settings import get_settings
    from operative.orchestration import orchestrator

    with open_session() as session:
        targets = _obligations_to_run(session, playbook, resolution, obligation)
        # The runner drafts what is approved: it must be a known person, or four-eyes is void.
        require_officer(session, actor, "run playbooks")
    runs = orchestrator().run_playbook(
        playbook, targets, drafted_by=actor, data_dir=get_settings().data_dir
    )
    for target, outcome in runs:
        typer.echo(f"{playbook} for obligation {target}: {outcome}")


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Every obligation's state, pending approvals and deliveries."""
    from operative.reporting.read_model import obligation_lines

    with open_session() as session:
        lines = obligation_lines(session)
    data = [_status_json(line) for line in lines]
    show_rows(data, as_json=as_json, empty=NO_OBLIGATIONS, table=lambda: _status_table(lines, data))


def _status_json(line: ObligationLine) -> dict[str, Any]:
    o, p, r, counts = line.obligation, line.paragraph, line.resolution, line.counts
    return {
        "id": o.id,
        "resolution": f"{r.body} {r.number}",
        "paragraph": p.num,
        "playbook": o.playbook,
        "status": str(o.status),
        "progress": o.progress,
        "due_at": o.due_at.isoformat().replace("+00:00", "Z") if o.due_at else None,
        "overdue": line.overdue,
        "last_flow_run_id": o.last_flow_run_id,
        "deliveries": {"sent": counts.sent, "failed": counts.failed, "pending": counts.pending},
        "pending_approvals": [a.id for a in counts.pending_approvals],
    }


def _status_table(lines: list[ObligationLine], data: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table()
    table.add_column("ID", no_wrap=True, min_width=2)
    table.add_column("OP", no_wrap=True)
    table.add_column("Playbook", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Due", no_wrap=True)
    table.add_column("Sent", no_wrap=True, justify="right")
    table.add_column("Waits for")
    for item, line in zip(data, lines, strict=True):
        shown = f"{item['status']} {item['progress']}%"
        if item["overdue"]:
            shown = f"[red]{shown}, late[/red]"
        sent, failed = item["deliveries"]["sent"], item["deliveries"]["failed"]
        table.add_row(
            str(item["id"]),
            item["paragraph"],
            item["playbook"],
            shown,
            local(line.obligation.due_at)[:10],
            f"{sent} ({failed} failed)" if failed else str(sent),
            ", ".join(f"approval {a}" for a in item["pending_approvals"]) or "—",
        )
    return table


@app.command()
def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where to put the demo's data (default: a fresh ./.operative-demo)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final summary as JSON (progress to stderr).")
    ] = False,
) -> None:
    """Replay resolution 1244 from 27 November 2012 to 4 October 2013, end to end."""
    from operative.orchestration import orchestrator

    echo = (lambda line: typer.echo(line, err=True)) if as_json else typer.echo
    summary = orchestrator().demo(data_dir, echo=echo, show_table=not as_json)
    if as_json:
        print_json(summary)


@app.command("calendar")
def calendar_export(
    ics: Annotated[Path, typer.Option("--ics", help="Write the deadlines as an iCalendar file.")],
) -> None:
    """Export every open deadline as an iCalendar (.ics) file."""
    from operative.reporting.ics import deadlines_ics

    with open_session() as session:
        data = deadlines_ics(session)
    try:
        ics.write_bytes(data)
    except OSError as exc:
        raise UsageProblem(f"{ics}: cannot write: {exc.strerror}") from None
    typer.echo(f"Wrote {ics} ({data.count(b'BEGIN:VEVENT')} deadlines).")
