"""Commands around the web app: ``operative web``, ``operative report``, ``operative users
password`` and ``operative portal-link``.

Registered on the main app by :func:`register`; FastAPI, uvicorn and the report's templates
are imported inside the commands, so ``operative --help`` loads none of them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from operative.cli import UsageProblem, _session, handled


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
    with _session() as session:
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


def users_password(
    username: Annotated[str, typer.Argument(help="An existing user.")],
    generate: Annotated[
        bool,
        typer.Option(
            "--generate", help="Make up a password, set it, and print it once (for the demo)."
        ),
    ] = False,
) -> None:
    """Set a user's web sign-in password (prompted; read from stdin when it is not a terminal)."""
    import secrets

    from sqlmodel import select

    from operative.models import User
    from operative.register.users import hash_password

    if generate:
        secret = secrets.token_urlsafe(12)
    elif sys.stdin.isatty():
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    with _session() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UsageProblem(f"no user {username!r} (add one: operative users add)")
        user.password_hash = hash_password(secret)
        session.add(user)
        from operative.core import audit

        audit.append(session, actor="cli", kind="user.password", subject=f"user:{username}")
        session.commit()
    if generate:
        typer.echo(f"Password of {username}: {secret}  (shown once; sign in at /signin)")
    else:
        typer.echo(f"Password of {username} set.")


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

    from operative.cli_work import _national_positions_obligation
    from operative.core import clock
    from operative.models import MemberState
    from operative.playbooks.national_positions import portal_link as make_link

    with _session() as session:
        target = _national_positions_obligation(session, obligation)
        state = session.get(MemberState, iso3.strip().upper())
        if state is None or not state.active:
            raise UsageProblem(f"{iso3!r} is not an active Member State")
    expires = clock.now() + dt.timedelta(days=days)
    typer.echo(make_link(target, state.iso3, expires_at=expires))


def register(app: typer.Typer) -> None:
    """Add these commands to the main app (``users password`` joins the users group)."""
    from operative.cli_work import users_app

    users_app.command("password")(handled(users_password))
    app.command()(handled(web))
    app.command()(handled(report))
    app.command("portal-link")(handled(portal_link))
