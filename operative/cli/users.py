"""``operative users …``: the people who approve, review and sign in, and their passwords."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from operative.cli._common import JsonOption, UsageProblem, open_session, print_json

app = typer.Typer(help="People who approve, review and sign in.", no_args_is_help=True)


@app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name, e.g. jdoe.")],
    role: Annotated[list[str], typer.Option("--role", help="A role (repeatable).")],
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password (web sign-in).")
    ] = False,
) -> None:
    """Create a user, or update one's name and roles."""
    from operative.register.users import add_user

    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with open_session() as session:
        user = add_user(session, username, name=name, roles=role, password=secret)
        session.commit()
        typer.echo(f"User {user.username}: {', '.join(user.roles)}.")


@app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """List users and their roles."""
    from operative.register.users import list_users

    with open_session() as session:
        rows = list_users(session)
    data = [
        {"username": u.username, "name": u.name, "roles": u.roles, "active": u.active} for u in rows
    ]
    if as_json:
        print_json(data)
        return
    for user in rows:
        typer.echo(f"{user.username:<16} {', '.join(user.roles):<30} {user.name}")


@app.command("password")
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

    from operative.core import audit
    from operative.models import User
    from operative.register.users import hash_password

    if generate:
        secret = secrets.token_urlsafe(12)
    elif sys.stdin.isatty():
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    with open_session() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UsageProblem(f"no user {username!r} (add one: operative users add)")
        user.password_hash = hash_password(secret)
        session.add(user)
        audit.append(session, actor="cli", kind="user.password", subject=f"user:{username}")
        session.commit()
    if generate:
        typer.echo(f"Password of {username}: {secret}  (shown once; sign in at /signin)")
    else:
        typer.echo(f"Password of {username} set.")
