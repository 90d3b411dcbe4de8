"""Commands that keep operative running: ``operative serve`` and ``operative deploy``.

Both read the deployments from ``deploy/prefect.yaml`` through the orchestrator
(:mod:`operative.orchestration`) and refuse a bad one, naming the key, before they touch a
server. What is the orchestrator's (its server, its runner, its work pools) stays behind that
seam; what is operative's (one serve per data dir, the web app, signals) is here.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from operative.cli._common import fail

if TYPE_CHECKING:
    from operative.orchestration import Deployment, Finding, Serving

app = typer.Typer()

PrefectFileOption = Annotated[
    Path | None,
    typer.Option(
        "--prefect-file",
        help="The deployments file (default: deploy/prefect.yaml of this repository).",
    ),
]


class _Shutdown(BaseException):
    """SIGINT or SIGTERM arrived while operative serve was still starting.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    swallows it before the server is stopped.
    """


class _Signals:
    """SIGINT and SIGTERM ask for one clean stop; while starting, they interrupt the start."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.interrupt = True
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received.is_set():
            return  # already stopping: a second Ctrl-C must not cut the cleanup short
        self.received.set()
        if self.interrupt:
            raise _Shutdown(signum)


def _prepare_environment(*, log_runs: bool = False) -> Path:
    """Settings every served run inherits, whatever directory it starts in; the data dir.

    ``log_runs`` keeps the orchestrator's own logs, for a service (see
    :meth:`operative.orchestration.Orchestrator.prepare`).
    """
    from operative.core.settings import get_settings
    from operative.orchestration import orchestrator

    settings = get_settings()
    orchestrator().prepare(log_runs=log_runs)
    os.environ["OPERATIVE_DATA_DIR"] = str(settings.data_dir)
    if os.environ.get("OPERATIVE_CONFIG_DIR"):
        os.environ["OPERATIVE_CONFIG_DIR"] = str(settings.config_dir)
    return settings.data_dir


@app.command()
def serve(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Start everything, check it is healthy, say what was checked, stop."
        ),
    ] = False,
    prefect_file: PrefectFileOption = None,
    host: Annotated[
        str | None,
        typer.Option(help="Interface the web app listens on (default: OPERATIVE_WEB_HOST)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Port of the web app (default: OPERATIVE_WEB_PORT, 8000)."
        ),
    ] = None,
) -> None:
    """Run unattended: every deployment on its schedule, on a local Prefect server by default,
    and the web app.

    With PREFECT_API_URL unset, a Prefect server is started on loopback with its database in
    the data dir and stopped on exit. SIGINT or SIGTERM stops it all cleanly (exit 0).
    """
    from operative.core.settings import get_settings

    settings = get_settings()
    where = (host or settings.web_host, settings.web_port if port is None else port)
    code = 0
    with _Signals() as signals:
        try:
            code = _serve(signals, check=check, prefect_file=prefect_file, web_at=where)
        except _Shutdown:
            typer.echo("Stopped before operative serve was up.", err=True)
    if code:
        raise typer.Exit(code)


def _serve(
    signals: _Signals, *, check: bool, prefect_file: Path | None, web_at: tuple[str, int]
) -> int:
    from operative.orchestration import orchestrator

    data_dir = _prepare_environment(log_runs=not check)
    serving = orchestrator().serving(prefect_file, data_dir)
    with _only_serve(data_dir), _web_app(*web_at) as web_url, serving.api() as url:
        try:
            serving.start(take_runs=not check)
            if check:
                return _report([*serving.check(url), _check_web(web_url)])
            _announce(serving, url)
            typer.echo(f"The web app is at {web_url}/ ; stop with Ctrl-C or SIGTERM.")
            sys.stdout.flush()
            signals.interrupt = False
            _wait_for_stop(signals, serving)
            typer.echo("Stopping: the web app, the runner, then the Prefect server.")
            return 0
        finally:
            signals.interrupt = False
            if not serving.stop():
                typer.echo("The runner did not stop in time; stopping the server.", err=True)


def _wait_for_stop(signals: _Signals, serving: Serving) -> None:
    """Until SIGINT or SIGTERM; a runner that stops by itself ends the serve (exit 1)."""
    while not signals.received.wait(1.0):
        failure = serving.failure()
        if failure is not None:
            fail(f"the Prefect runner stopped: {failure}", code=1)


@contextmanager
def _web_app(host: str, port: int) -> Iterator[str]:
    """The web app, served by uvicorn in a thread of this process; yields its URL.

    Started before the Prefect server so a port already taken is said at once (exit 1), and
    stopped after the runner and the server (the ``with`` unwinds in reverse).
    """
    import socket

    from operative.web.app import server

    try:
        listener = socket.create_server((host, port))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        fail(f"the web app cannot listen on {host}:{port}: {reason}", code=1)
    bound = listener.getsockname()[1]
    web = server(host, bound, log_level="warning")
    thread = threading.Thread(
        target=web.run, kwargs={"sockets": [listener]}, name="operative-web", daemon=True
    )
    thread.start()
    try:
        shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host
        yield f"http://{shown}:{bound}"
    finally:
        web.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _check_web(web_url: str) -> Finding:
    import urllib.error
    import urllib.request

    from operative.orchestration import Finding

    try:
        with urllib.request.urlopen(f"{web_url}/healthz", timeout=10) as answer:
            ok = answer.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    return Finding(
        ok, f"web app answers at {web_url}/" if ok else f"web app at {web_url}/: no answer"
    )


@contextmanager
def _only_serve(data_dir: Path) -> Iterator[None]:
    """Hold ``<data dir>/serve.lock`` while serving: two serves would run every run twice."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "serve.lock").open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            fail(f"operative serve already runs for {data_dir} (pid {holder})", code=1)
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def _deployment_lines(deployments: Sequence[Deployment], *, pools: bool) -> list[str]:
    width = max(len(deployment.name) for deployment in deployments)
    return [
        f"  {d.name:<{width}}  " + (f"pool {d.work_pool}  " if pools else "") + d.when
        for d in deployments
    ]


def _announce(serving: Serving, url: str) -> None:
    deployments = serving.deployments
    typer.echo(
        f"Serving {len(deployments)} deployments on the Prefect API at {url} ({serving.where}):"
    )
    for line in _deployment_lines(deployments, pools=False):
        typer.echo(line)
    # Under a service manager stdout is a pipe, block-buffered: the journal should not wait.
    sys.stdout.flush()


def _report(findings: list[Finding]) -> int:
    for finding in findings:
        typer.echo(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.text}")
    failed = sum(1 for finding in findings if not finding.ok)
    typer.echo("All checks passed." if not failed else f"{failed} check(s) failed.")
    return 1 if failed else 0


@app.command()
def deploy(prefect_file: PrefectFileOption = None) -> None:
    """Register every deployment on its work pool, on the server at PREFECT_API_URL, for workers.

    Runs ``prefect deploy --all`` on the deployments file from the repository root (creating
    the process work pool if it is missing). Start workers with ``prefect worker start --pool``.
    """
    from operative.orchestration import orchestrator

    data_dir = _prepare_environment()
    deployed = orchestrator().deploy(prefect_file, data_dir)
    for pool in deployed.created_pools:
        typer.echo(f"Created the process work pool {pool!r}.")
    typer.echo(f"Registered {len(deployed.deployments)} deployments at {deployed.api_url}:")
    for line in _deployment_lines(deployed.deployments, pools=True):
        typer.echo(line)
    pools = " ".join(sorted({str(d.work_pool) for d in deployed.deployments}))
    typer.echo(f"Start workers with: prefect worker start --pool {pools}")
