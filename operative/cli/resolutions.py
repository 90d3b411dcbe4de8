"""Commands on what the register holds: resolutions (ingest, list, export as Akoma Ntoso),
their obligations (list, reassign) and the Member States."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from operative.cli._common import (
    CONSOLE_ACTOR,
    NO_OBLIGATIONS,
    JsonOption,
    UsageProblem,
    console,
    local,
    open_session,
    print_json,
    require_acting,
    show_rows,
)

if TYPE_CHECKING:
    from operative.models import Obligation, Paragraph, Resolution

app = typer.Typer()


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
    with open_session() as session:
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
        print_json(document)
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
    out = console()
    verb = {
        "created": "Registered",
        "unchanged": "Already registered, unchanged:",
        "replaced": "Replaced",
    }
    out.print(
        f"[bold]{verb[outcome]}[/bold] {res['body']} resolution {res['number']} "
        f"(id {res['id']}): {res['title']}"
    )
    out.print(
        f"{len(document['preambular'])} preambular and {len(document['operative'])} "
        "operative paragraphs"
    )
    if outcome == "replaced":
        changes = {"changed": result.changed, "added": result.added, "withdrawn": result.withdrawn}
        out.print("; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in changes.items()))
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
            local(dt.datetime.fromisoformat(due)) if due else "—",
        )
    out.print(table)


@app.command()
def resolutions(as_json: JsonOption = False) -> None:
    """List the registered resolutions."""
    from sqlmodel import col, select

    from operative.models import Obligation, Paragraph, Resolution

    with open_session() as session:
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
        print_json(data)
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
    console().print(table if data else "No resolutions yet: try `operative ingest FILE`.")


Row = tuple["Obligation", "Paragraph", "Resolution"]


@app.command()
def obligations(
    as_json: JsonOption = False,
    resolution: Annotated[
        int | None, typer.Option("--resolution", help="Only this resolution's obligations.")
    ] = None,
) -> None:
    """List the obligations in the register, with their status."""
    rows = _obligation_rows(resolution)
    data = [_obligation_json(row) for row in rows]
    show_rows(
        data, as_json=as_json, empty=NO_OBLIGATIONS, table=lambda: _obligations_table(rows, data)
    )


def _obligation_rows(resolution: int | None) -> list[Row]:
    from sqlmodel import col, select

    from operative.models import Obligation, Paragraph, Resolution

    with open_session() as session:
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
        return list(session.exec(query).all())


def _obligation_json(row: Row) -> dict[str, Any]:
    from operative.register.obligations import is_overdue

    o, p, r = row
    return {
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


def _obligations_table(rows: list[Row], data: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    # One resolution fits the table's title; several need a column to tell them apart.
    several = len({r.id for _o, _p, r in rows}) > 1
    title = None if several else f"{rows[0][2].body} resolution {rows[0][2].number}"
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
            local(o.due_at),
            status,
        )
    return table


@app.command()
def reassign(
    obligation: Annotated[int, typer.Argument(help="The obligation's id.")],
    playbook: Annotated[str, typer.Argument(help="The playbook to give it.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    actor: Annotated[str, typer.Option("--as", help="Who reassigns it.")] = CONSOLE_ACTOR,
) -> None:
    """Give an obligation another playbook (kept when the resolution is re-ingested)."""
    from operative.register.obligations import reassign as reassign_playbook

    with open_session() as session:
        require_acting(session, actor, "reassign playbooks")
        result = reassign_playbook(session, obligation, playbook, actor=actor, reason=reason)
        session.commit()
    typer.echo(f"Obligation {result.id} now follows {result.playbook}.")


@app.command("member-states")
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
    with open_session() as session:
        query = select(MemberState).order_by(col(MemberState.iso3))
        if language:
            query = query.where(MemberState.language == language)
        rows = session.exec(query).all()
    if as_json:
        print_json([row.model_dump() for row in rows])
        return
    if not rows:
        console().print("No Member States loaded: run `operative init`.")
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
    console().print(table)


@app.command()
def akn(
    resolution: Annotated[int, typer.Argument(help="The resolution's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export a registered resolution as Akoma Ntoso XML (AKN4UN naming)."""
    from operative.models import Resolution
    from operative.resolution import parse_text, to_akn

    with open_session() as session:
        row = session.get(Resolution, resolution)
        if row is None:
            raise UsageProblem(f"no resolution with id {resolution}")
        xml = to_akn(parse_text(row.source_text, source=row.source_name))
    if output is None:
        sys.stdout.buffer.write(xml)
        return
    output.write_bytes(xml)
    typer.echo(f"Wrote {output} ({len(xml):,} bytes).")
