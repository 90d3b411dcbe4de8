"""The Prefect API the flows talk to: the configured server, or a local one in the data dir.

With ``PREFECT_API_URL`` set, that server is used. Without it, a ``prefect server start``
process is started on loopback with its SQLite database under ``<data dir>/prefect`` and
stopped on exit; its URL is written under ``<data dir>/prefect/servers/`` (one file per
process) so another command (``operative approve`` in a second terminal) can resume a run
paused in this one.

The server is started *before* Prefect is imported here, so the two overlap, and every
setting Prefect reads at import (API URL, no telemetry, no heartbeat wait) is in place.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, NamedTuple
from uuid import UUID

from operative.errors import Unavailable

STARTUP_TIMEOUT_SECONDS = 90.0
# How long a decision keeps trying to reach a run that is about to pause.
RESUME_PATIENCE = 15.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# Read by Prefect at import and by the server it starts.
QUIET_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(int(STARTUP_TIMEOUT_SECONDS)),
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


class ServerUnavailable(Unavailable):
    """The Prefect API cannot be reached or started."""


def prefect_home(data_dir: Path) -> Path:
    return data_dir / "prefect"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def recorded_api_urls(data_dir: Path) -> list[str]:
    """Prefect APIs that may hold this data dir's runs: the configured one, or every live
    local server started by an operative process (each `operative run` may have its own)."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return [url] if _healthy(url, timeout=2.0) else []
    found = []
    for path in sorted((prefect_home(data_dir) / "servers").glob("*.url")):
        with suppress(OSError):
            recorded = path.read_text(encoding="utf-8").strip()
            if recorded and _healthy(recorded, timeout=1.0):
                found.append(recorded)
    return found


@contextmanager
def prefect_api(data_dir: Path) -> Iterator[str]:
    """A reachable Prefect API for the duration of the block; yields its URL."""
    os.environ.update({k: v for k, v in QUIET_SETTINGS.items() if k not in os.environ})
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if not _healthy(configured, timeout=5.0):
            raise ServerUnavailable(f"Prefect API at {configured} is not answering")
        yield configured
        return

    home = prefect_home(data_dir)
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    marker = home / "servers" / f"{os.getpid()}-{port}.url"
    log = (home / "server.log").open("ab")
    process = _start_server(home, port, log)
    os.environ["PREFECT_API_URL"] = url
    os.environ["PREFECT_HOME"] = str(home)
    try:
        _wait_until_healthy(process, url, home)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(url, encoding="utf-8")
        _refresh_prefect_settings()
        yield url
    finally:
        _drain_prefect_workers()
        with suppress(OSError):
            marker.unlink()
        _stop_server(process)
        log.close()
        os.environ.pop("PREFECT_API_URL", None)
        _refresh_prefect_settings()


def _start_server(home: Path, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A ``prefect server start`` on loopback, its database and home under ``home``."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_stop_with(os.getpid()) if sys.platform.startswith("linux") else None,
    )


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, home: Path) -> None:
    """Return once the server answers; refuse one that exited or is too slow to start."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not _healthy(url, timeout=1.0):
        if process.poll() is not None:
            raise ServerUnavailable(
                f"the local Prefect server exited at start (code {process.returncode}); "
                f"see {home / 'server.log'}"
            )
        if time.monotonic() > deadline:
            raise ServerUnavailable(
                f"the local Prefect server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s"
            )
        time.sleep(0.05)


def _stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, and kill it if it has not stopped within 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_with(parent: int) -> Callable[[], None]:
    """Run in the server's process before it starts: SIGTERM it when ``parent`` dies.

    The server is stopped on every normal exit; this covers the one that is not, a SIGKILL of
    ``operative serve`` or ``run``, which would otherwise leave the server running (and holding
    its port and database) with nobody to stop it. Linux only (prctl PR_SET_PDEATHSIG).
    """

    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _refresh_prefect_settings() -> None:
    if "prefect" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _drain_prefect_workers() -> None:
    # Logs and events are shipped by background workers; without a drain they try to reach
    # a server that is already gone and complain at exit.
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


@contextmanager
def flow_settings() -> Iterator[None]:
    """Settings for running flows in this process: no heartbeat thread delaying each call."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


class Resume(NamedTuple):
    """What a resume attempt found: whether the server knew the run, and what happened."""

    known: bool
    text: str


def resume_with_decision(
    flow_run_id: str, approval_id: int, token: str, *, patience: float = RESUME_PATIENCE
) -> str:
    """Hand a recorded decision to the run waiting for it; says what happened.

    A run that is still running may be about to wait (it checks the register, then pauses):
    the resume is tried again until it pauses or finishes. The decision is in the register
    either way, so a run that is not reached loses nothing: it reads it when run again.
    """
    return _resume(flow_run_id, approval_id, token, patience=patience).text


def _resume(
    flow_run_id: str, approval_id: int, token: str, *, patience: float = RESUME_PATIENCE
) -> Resume:
    """:func:`resume_with_decision` on the Prefect API of the current settings."""
    from prefect import get_client
    from prefect.exceptions import NotPausedError, ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    try:
        run_uuid = UUID(flow_run_id)
    except ValueError:
        return Resume(True, f"no run {flow_run_id!r} to resume; the next run reads the decision")
    deadline = time.monotonic() + patience
    while True:
        try:
            resume_flow_run(run_uuid, run_input={"approval_id": approval_id, "token": token})
        except ObjectNotFound:
            return Resume(
                False,
                "the run is not known to this Prefect server; the next run reads the decision",
            )
        except RuntimeError as exc:
            return Resume(True, f"the run refused the input: {' '.join(str(exc).split())}")
        except NotPausedError:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run_uuid).state
            if state is None or not state.is_running() or time.monotonic() > deadline:
                return Resume(
                    True, "the run was not waiting; it will read the decision from the register"
                )
            time.sleep(0.2)
            continue
        return Resume(True, "the waiting run was resumed")


def deliver_decision(data_dir: Path, flow_run_id: str | None, approval_id: int, token: str) -> str:
    """Resume the run waiting for a recorded decision, on whichever reachable Prefect server
    knows it (the configured one, or a local server of this data dir); says what happened.

    Used by the CLI and the web app after :func:`operative.register.approvals.decide` has committed
    (through :func:`operative.orchestration.decide_and_resume`): the decision is in the register
    already, so failing to reach a run loses nothing. Each server is asked under settings of
    this call's own context, never by editing ``os.environ``: the web app calls this from
    several threads at once.
    """
    urls = recorded_api_urls(data_dir)
    if flow_run_id is None or not urls:
        return "no run is waiting on a reachable Prefect server: the next run reads the decision"
    from prefect.settings import PREFECT_API_URL, temporary_settings

    for url in urls:
        try:
            with temporary_settings(updates={PREFECT_API_URL: url}):
                outcome = _resume(flow_run_id, approval_id, token)
        except Exception as exc:  # the decision is recorded; reaching the run is a bonus
            return (
                f"could not reach the Prefect server ({type(exc).__name__}); "
                "the next run reads the decision"
            )
        if outcome.known:
            return outcome.text
    return "the run is not known to a reachable Prefect server; the next run reads the decision"
