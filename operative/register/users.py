"""People who sign in or decide: their roles, and (for the web app) a password hash."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from operative.core import audit
from operative.errors import Invalid
from operative.models import USER_ROLES, User

_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,39}")


def add_user(
    session: Session,
    username: str,
    *,
    name: str,
    roles: list[str],
    password: str | None = None,
    actor: str = "cli",
) -> User:
    """Create a user, or update the name and roles of an existing one."""
    _check(username, roles)
    user = session.exec(select(User).where(User.username == username)).first()
    created = user is None
    if user is None:
        user = User(username=username, name=name or username, roles=sorted(set(roles)))
    else:
        user.name = name or user.name
        user.roles = sorted(set(roles))
        user.active = True
    if password is not None:
        user.password_hash = hash_password(password)
    return audit.write(
        session,
        user,
        actor=actor,
        kind="user.created" if created else "user.updated",
        event=lambda user: (f"user:{username}", {"roles": user.roles}),
    )


def _check(username: str, roles: list[str]) -> None:
    """Refuse (:class:`~operative.errors.Invalid`) a malformed username, an unknown role or
    no role at all."""
    if not _USERNAME.fullmatch(username):
        raise Invalid(
            f"username {username!r}: 2-40 characters, lower-case letters, digits, '.', '_' or '-',"
            " starting with a letter"
        )
    unknown = [role for role in roles if role not in USER_ROLES]
    if unknown:
        raise Invalid(f"role {unknown[0]!r} is not one of {', '.join(USER_ROLES)}")
    if not roles:
        raise Invalid(f"give {username} at least one role ({', '.join(USER_ROLES)})")


def hash_password(password: str) -> str:
    """An argon2 hash of ``password``."""
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    from pwdlib import PasswordHash

    return PasswordHash.recommended().hash(password)


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.exec(select(User).order_by(col(User.username))))
