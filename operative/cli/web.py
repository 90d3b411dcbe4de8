"""Commands around the web app: ``operative web``, ``operative report`` and
``operative portal-link``.

FastAPI, uvicorn and the report's templates are imported inside the commands, so
``operative --help`` loads none of them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from operative.cli._common import UsageProblem, open_session

app = typer.Typer()


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Processes serving the port (more pages at once on more cores)."
        ),
    ] = 1,
) -> None:
    """Serve the dashboard, the JSON API and the Member State portal (no Prefect runner)."""
    from operative.web.app import serve_processes, server

    plural = "process" if workers == 1 else "processes"
    typer.echo(
        f"operative web on http://{host}:{port}/ ({workers} {plural}; Ctrl-C to stop)", err=True
    )
    if workers == 1:
        server(host, port).run()
    else:
        serve_processes(host, port, workers=workers)


@app.command()
def report(
    fmt: Annotated[
        str, typer.Option("--format", help="markdown or html (printable).")
    ] = "markdown",
    resolution: Annotated[
        int | None, typer.Option("--resolution", help="Only this resolution's id.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """The progress report for the Council, as Markdown or printable HTML."""
    from operative.reporting.progress import build_report, report_html, report_markdown

    if fmt not in {"markdown", "html"}:
        raise UsageProblem(f"--format {fmt!r}: markdown or html")
    with open_session() as session:
        built = build_report(session, resolution_id=resolution)
    text = report_markdown(built) if fmt == "markdown" else report_html(built)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"{output}: cannot write: {exc.strerror}") from None
    typer.echo(f"Wrote {output}.")


@app.command("portal-link")
def portal_link(
    iso3: Annotated[str, typer.Argument(help="The Member State (ISO alpha-3).")],
    obligation: Annotated[
        int | None, typer.Option(help="The national-positions obligation.")
    ] = None,
    days: Annotated[
        int, typer.Option(min=1, max=366, help="How many days the link stays valid.")
    ] = 30,
) -> None:
    """Print a fresh submission link for one Member State (e.g. to replace an expired one)."""
    import datetime as dt

    from operative.core import clock
    from operative.models import MemberState
    from operative.playbooks.national_positions import campaign
    from operative.playbooks.national_positions import portal_link as make_link

    with open_session() as session:
        target = campaign(session, obligation)
        state = session.get(MemberState, iso3.strip().upper())
        if state is None or not state.active:
            raise UsageProblem(f"{iso3!r} is not an active Member State")
    expires = clock.now() + dt.timedelta(days=days)
    typer.echo(make_link(target, state.iso3, expires_at=expires))
