"""Commands that keep operative running: ``operative serve`` and ``operative deploy``.

Registered on the main app by :func:`register`. Both read the deployments from
``deploy/prefect.yaml`` (through :mod:`flows._prefect.serve`) and refuse a bad one, naming the key,
before they touch a server.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from operative.cli import UsageProblem, fail, handled

PrefectFileOption = Annotated[
    Path | None,
    typer.Option(
        "--prefect-file",
        help="The deployments file (default: deploy/prefect.yaml of this repository).",
    ),
]

# For the local server `operative serve` starts. New and changed deployments get their runs
# planned within a second instead of five; the scheduler's round over every deployment (to plan
# further ahead) every 10 s instead of 60, which costs a local SQLite server nothing.
LOCAL_SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "10",
}


PREFECT_DEPLOY = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]


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

    ``log_runs`` keeps Prefect's INFO logs, for a service: what each run did reaches its page
    in the Prefect UI, and the runner's account of each run reaches the journal.
    """
    from flows._prefect.runtime import QUIET_SETTINGS
    from operative.core.settings import get_settings

    settings = get_settings()
    if log_runs:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    for name, value in {**QUIET_SETTINGS, **LOCAL_SERVER_SETTINGS}.items():
        os.environ.setdefault(name, value)
    os.environ["OPERATIVE_DATA_DIR"] = str(settings.data_dir)
    if os.environ.get("OPERATIVE_CONFIG_DIR"):
        os.environ["OPERATIVE_CONFIG_DIR"] = str(settings.config_dir)
    return settings.data_dir


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
    data_dir = _prepare_environment(log_runs=not check)
    from flows._prefect.runtime import ServerUnavailable, prefect_api
    from flows._prefect.serve import ServeConflict, Service, check_service, display_path, load_specs

    specs = load_specs(prefect_file)
    local = not os.environ.get("PREFECT_API_URL")
    try:
        with _only_serve(data_dir), _web_app(*web_at) as web_url, prefect_api(data_dir) as url:
            where = f"local server, data in {data_dir / 'prefect'}" if local else "PREFECT_API_URL"
            service = Service(specs)
            try:
                service.start(take_runs=not check)
                if check:
                    source = display_path(prefect_file) if prefect_file else None
                    findings = check_service(specs, url, where, source)
                    return _report([*findings, _check_web(web_url)])
                _announce(specs, url, where)
                typer.echo(f"The web app is at {web_url}/ ; stop with Ctrl-C or SIGTERM.")
                sys.stdout.flush()
                signals.interrupt = False
                while not signals.received.wait(1.0):
                    if service.failure is not None:
                        fail(f"the Prefect runner stopped: {service.failure}", code=1)
                typer.echo("Stopping: the web app, the runner, then the Prefect server.")
                return 0
            finally:
                signals.interrupt = False
                if not service.stop():
                    typer.echo("The runner did not stop in time; stopping the server.", err=True)
    except (ServerUnavailable, ServeConflict) as exc:
        fail(str(exc), code=1)


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


def _check_web(web_url: str) -> Any:
    import urllib.error
    import urllib.request

    from flows._prefect.serve import Finding

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


def _announce(specs: list[Any], url: str, where: str) -> None:
    typer.echo(f"Serving {len(specs)} deployments on the Prefect API at {url} ({where}):")
    width = max(len(spec.full_name) for spec in specs)
    for spec in specs:
        when = "; ".join(s.describe() for s in spec.schedules) or "when started, with parameters"
        typer.echo(f"  {spec.full_name:<{width}}  {when}")
    # Under a service manager stdout is a pipe, block-buffered: the journal should not wait.
    sys.stdout.flush()


def _report(findings: list[Any]) -> int:
    for finding in findings:
        typer.echo(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.text}")
    failed = sum(1 for finding in findings if not finding.ok)
    typer.echo("All checks passed." if not failed else f"{failed} check(s) failed.")
    return 1 if failed else 0


def deploy(prefect_file: PrefectFileOption = None) -> None:
    """Register every deployment on its work pool, on the server at PREFECT_API_URL, for workers.

    Runs ``prefect deploy --all`` on the deployments file from the repository root (creating
    the process work pool if it is missing). Start workers with ``prefect worker start --pool``.
    """
    data_dir = _prepare_environment()
    from flows._prefect.runtime import ServerUnavailable, prefect_api
    from flows._prefect.serve import DEFAULT_PREFECT_FILE, display_path, load_specs
    from operative.core.settings import REPO_ROOT

    path = (prefect_file or DEFAULT_PREFECT_FILE).resolve()
    specs = load_specs(path)
    if not os.environ.get("PREFECT_API_URL"):
        raise UsageProblem(
            "PREFECT_API_URL is not set: `operative deploy` registers deployments on a running "
            "Prefect server for its workers (on one machine, `operative serve` needs neither)"
        )
    for spec in specs:
        if spec.work_pool is None:
            raise UsageProblem(
                f"{display_path(path)}: deployments[{spec.name}].work_pool: a work pool is "
                "required to deploy for workers"
            )
    try:
        with prefect_api(data_dir) as url:
            created = _ensure_process_pools(sorted({str(spec.work_pool) for spec in specs}))
            done = subprocess.run(
                [*PREFECT_DEPLOY, "--prefect-file", str(path)],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            )
    except ServerUnavailable as exc:
        fail(str(exc), code=1)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        fail(f"prefect deploy failed: {lines[-1] if lines else f'exit {done.returncode}'}", 1)
    for pool in created:
        typer.echo(f"Created the process work pool {pool!r}.")
    typer.echo(f"Registered {len(specs)} deployments at {url}:")
    width = max(len(spec.full_name) for spec in specs)
    for spec in specs:
        when = "; ".join(s.describe() for s in spec.schedules) or "when started, with parameters"
        typer.echo(f"  {spec.full_name:<{width}}  pool {spec.work_pool}  {when}")
    pools = " ".join(sorted({str(spec.work_pool) for spec in specs}))
    typer.echo(f"Start workers with: prefect worker start --pool {pools}")


def _ensure_process_pools(names: list[str]) -> list[str]:
    """Create each missing work pool as a process pool; the names of those created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    created = []
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                client.read_work_pool(name)
            except ObjectNotFound:
                client.create_work_pool(
                    WorkPoolCreate(
                        name=name,
                        type="process",
                        base_job_template=ProcessWorker.get_default_base_job_template(),
                    )
                )
                created.append(name)
    return created


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command()(handled(serve))
    app.command()(handled(deploy))
