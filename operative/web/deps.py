"""The dependencies every route shares: the session, who is signed in, and what they may do;
and :func:`start_run`, the trigger of a page and of the API, with the app's configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from operative.core.settings import Settings
from operative.errors import Unauthenticated
from operative.web import actions, auth
from operative.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Principal,
    claims_of,
    csrf_matches,
    principal_of,
)

T = TypeVar("T")


class SignInRequired(Unauthenticated):
    """No valid session or token: pages redirect to sign-in, the API answers 401."""


# Requests that only read: their transactions begin deferred (operative.core.db.read_only).
READ_METHODS = frozenset({"GET", "HEAD"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; nothing is committed unless an action commits it.

    A GET or HEAD reads without taking SQLite's write lock, so page views run beside each
    other and beside a writer; everything else begins with the write lock (``BEGIN
    IMMEDIATE``), so its reads and writes cannot be interleaved with another writer's.
    """
    state = request.app.state
    engine = state.reader if request.method in READ_METHODS else state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


# Closed when the route returns, not after the response is sent: a connection is not held
# while a slow client reads.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Dependencies that do no I/O are ``async``: FastAPI runs a sync one in a worker thread, and
# each such hop costs a thread switch (and a wait for the GIL) on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def optional_user(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in user, if any (read once per request)."""
    if not hasattr(request.state, "principal"):
        request.state.principal = principal_of(session, _claims(request))
    found: Principal | None = request.state.principal
    return found


def _claims(request: Request) -> auth.Claims | None:
    return claims_of(
        cookie=request.cookies.get(SESSION_COOKIE),
        authorization=request.headers.get("authorization"),
    )


async def read_signed_in(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` for a signed-in user, in one read-only transaction; raises
    :class:`SignInRequired` when nobody is signed in.

    The pages people keep open use this instead of ``SessionDep`` and ``CurrentUser``: those
    send the session's opening, the user's row, the route and the session's closing each to a
    worker thread of their own. Here the token is checked first (an HMAC, no I/O), then the
    user's row and the page's rows are read in one go, and the transaction ends before the
    page renders.

    On SQLite that read runs on the event loop itself: it begins deferred and, in WAL mode,
    reads a snapshot without waiting for any writer, and its time is Python's (statements,
    rows) under the GIL anyway, so a worker thread would add a hop and GIL hand-offs, not
    concurrency (with 20 clients the overview's p95 went from 270-290 ms to 165 ms without
    them). On PostgreSQL a query waits on the network: it runs in one worker thread.
    """
    claims = _claims(request)
    if claims is None:
        raise SignInRequired()
    state = request.app.state

    def unit() -> T:
        with Session(state.reader, expire_on_commit=False) as session:
            user = principal_of(session, claims)
            if user is None:
                raise SignInRequired()
            request.state.principal = user
            return work(session)

    if state.reads_inline:
        return unit()
    return await run_in_threadpool(unit)


async def require_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if user is None:
        raise SignInRequired()
    return user


CurrentUser = Annotated[Principal, Depends(require_user)]


async def require_change(request: Request, user: CurrentUser) -> Principal:
    """A user who may change things, whose request carries its CSRF token when it came with
    the session cookie (form field or header)."""
    if user.via == "cookie":
        given = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if not given and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not csrf_matches(user.csrf, given):
            raise HTTPException(
                403, "The form's security token is missing or wrong: reload the page and try again."
            )
    if not user.can_change:
        raise HTTPException(403, f"{user.username} may only view: viewers cannot change anything.")
    return user


Changer = Annotated[Principal, Depends(require_change)]


async def require_officer(user: Changer) -> Principal:
    if not user.is_officer:
        raise HTTPException(403, f"{user.username} may not do this: it needs the role 'officer'.")
    return user


Officer = Annotated[Principal, Depends(require_officer)]


def start_run(
    request: Request, session: Session, obligation_id: int, *, user: Principal
) -> actions.Launched:
    """Start the obligation's playbook as ``user`` (:func:`actions.trigger_run`), in the app's
    data dir and with its run command: the trigger of the page and of the API."""
    state = request.app.state
    return actions.trigger_run(
        session,
        obligation_id,
        user=user,
        data_dir=state.settings.data_dir,
        command=state.run_command,
    )
