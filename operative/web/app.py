"""The web app: the secretariat's pages, the JSON API and the Member State portal.

:func:`create_app` builds it over one engine for the configured database; :func:`server`
builds a uvicorn server for it (``operative web`` runs one alone; ``operative serve`` can run
one beside the Prefect runner). Errors are answered in one place: an
:class:`~operative.errors.OperativeError` becomes a page with its ``http_status``, or a
``{"detail": …}`` JSON body under ``/api``; a database still locked by a writer after the busy
timeout a 503 with ``Retry-After``; any other exception, a bug, a 500 naming a request id that
the logged traceback also carries. Nothing is committed on the way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from operative.core.db import get_engine, read_only
from operative.core.settings import Settings, get_settings
from operative.errors import OperativeError
from operative.orchestration import Deliverer, deliver_decision
from operative.web import actions, api, pages, portal
from operative.web.deps import SignInRequired
from operative.web.render import render

if TYPE_CHECKING:
    import uvicorn

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger("operative.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def error_response(request: Request, status_code: int, message: str) -> Response:
    """The one shape of an error: JSON under /api, a page elsewhere."""
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
        return JSONResponse({"detail": message}, status_code=status_code, headers=headers)
    return render(
        request, "error.html", {"status": status_code, "message": message}, status_code=status_code
    )


async def _operative_error(request: Request, exc: Exception) -> Response:
    """An error raised on purpose: its class says the status (:mod:`operative.errors`)."""
    assert isinstance(exc, OperativeError)
    message = " ".join(str(exc).split()) or type(exc).__name__
    return error_response(request, exc.http_status, message)


# How long a client is asked to wait when the database is busy (seconds).
RETRY_AFTER_BUSY = 2


def _database_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


async def _database_error(request: Request, exc: Exception) -> Response:
    """SQLite's write lock still held by another writer after the busy timeout: 503 with
    Retry-After (a moment later it goes through), not a 500 and a dropped connection."""
    assert isinstance(exc, OperationalError)
    if not _database_busy(exc):
        raise exc
    response = error_response(
        request, 503, "The database is busy with other changes: try again in a moment."
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_BUSY)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request refused."
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is no page at {request.url.path}."
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    return error_response(request, exc.status_code, message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    return error_response(request, 422, "; ".join(str(p) for p in problems) or "Invalid input.")


async def _sign_in(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return error_response(request, 401, "Sign in first: a session cookie or a bearer token.")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


class InternalErrors:
    """Any exception that no handler took is a bug: a 500 naming a request id, the traceback
    logged under the same id, so a person's report leads to the line that failed.

    A middleware rather than an ``Exception`` handler: Starlette re-raises after such a
    handler, and the server would log the same traceback a second time, without the id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        except Exception:
            request_id = uuid.uuid4().hex[:16]
            log.exception("request %s: %s %s failed", request_id, scope["method"], scope["path"])
            if started:  # the answer is half sent: only the server can end it
                raise
            response = error_response(
                Request(scope),
                500,
                f"Internal error (request {request_id}): it is logged; please report the id.",
            )
            response.headers["X-Request-ID"] = request_id
            await response(scope, receive, send)


class SecurityHeaders:
    """The headers every answer carries, added as the response starts.

    A plain ASGI middleware: ``@app.middleware("http")`` (Starlette's ``BaseHTTPMiddleware``)
    runs each request through a task group and a memory stream, which cost more per request
    than ``/healthz`` itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                # A portal link is a credential: it must not leak to another site through
                # Referer.
                headers.setdefault("Referrer-Policy", "no-referrer")
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings | None = None,
    *,
    run_command: Sequence[str] = actions.DEFAULT_RUN_COMMAND,
    deliverer: Deliverer = deliver_decision,
) -> FastAPI:
    """The web app over the configured database.

    ``run_command`` is the command line a trigger starts (``python -m operative``, followed by
    ``run PLAYBOOK …``); ``deliverer`` hands a recorded decision to a waiting flow run.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="operative",
        summary="Resolutions turned into tracked, scheduled, approved and notified work.",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        # The interactive docs load their scripts from a CDN: off, the schema is enough.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings.effective_database_url)
    app.state.reader = read_only(app.state.engine)
    # Page reads on SQLite run on the event loop (see deps.read_signed_in).
    app.state.reads_inline = app.state.engine.dialect.name == "sqlite"
    app.state.run_command = tuple(run_command)
    app.state.deliverer = deliverer
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(portal.router)
    app.include_router(pages.router)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        SignInRequired: _sign_in,
        StarletteHTTPException: _http_error,
        RequestValidationError: _validation_error,
        OperativeError: _operative_error,
        OperationalError: _database_error,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    # Added first, so it runs inside SecurityHeaders: a 500 carries the same headers.
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_processes(
    host: str = "127.0.0.1", port: int = 8000, *, workers: int = 2, log_level: str = "info"
) -> None:
    """Serve with ``workers`` uvicorn processes on one port until stopped (``operative web
    --workers N``).

    One process renders one page at a time (the GIL): on a machine with several cores, more
    processes serve more pages at once. Each builds its own app (:func:`create_app`) and its
    own engine; SQLite in WAL mode lets their readers run side by side.

    This is ``uvicorn.run(..., workers=N)`` but for the listening socket: uvicorn binds it
    with the protocol number left at 0, the connections accepted from it inherit that, and
    asyncio then leaves Nagle's algorithm on for them (uvicorn issue 3149), so every answer
    after a connection's first waited ~40 ms for the client's delayed ACK (measured: /healthz
    44 ms instead of 1 ms with 2 processes). Re-reading the socket from its descriptor gives
    it its real protocol (TCP), and TCP_NODELAY follows.
    """
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "operative.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
        server_header=False,
    )
    bound = config.bind_socket()
    listener = socket.socket(fileno=bound.detach())  # family, type and protocol from the fd
    listener.set_inheritable(True)
    try:
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


def server(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    app: FastAPI | None = None,
    log_level: str = "info",
) -> uvicorn.Server:
    """A uvicorn server for the app (not started): ``server().run()``, or ``await
    server().serve()`` inside an event loop, or in a thread beside other work."""
    import uvicorn

    config = uvicorn.Config(
        app or create_app(),
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=True,
        server_header=False,
    )
    return uvicorn.Server(config)
