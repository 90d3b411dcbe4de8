"""`operative serve` as a user runs it: it comes up, checks itself, stops cleanly, says why not.

Each test runs the command in a child process with PREFECT_API_URL unset (or pointing at a
dead port), so it starts, and must stop, its own local Prefect server.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows._prefect.serve import DEFAULT_PREFECT_FILE
from operative.core.db import session_scope
from operative.core.settings import REPO_ROOT
from tests.conftest import run_cli
from tests.factories import register_1244


@pytest.fixture
def no_prefect_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a new user has it: no PREFECT_API_URL, so operative starts its own server."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def _children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid`` and their command lines (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the parent pid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve(*, stderr: int) -> subprocess.Popen[bytes]:
    """``operative serve`` in a child process, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "operative", "serve"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def _until_serving(process: subprocess.Popen[bytes]) -> bytes:
    """What ``operative serve`` printed until it said it serves."""
    assert process.stdout is not None
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 90
        while b"stop with Ctrl-C or SIGTERM." not in seen:
            assert time.monotonic() < deadline and process.poll() is None, seen
            if selector.select(timeout=1):
                seen += os.read(process.stdout.fileno(), 65536)
    return seen


def test_serve_check_passes_on_a_fresh_data_dir(no_prefect_api: None, isolated_env: Path) -> None:
    """Tried as a new user would, with the shipped defaults, `serve --check` exits 0."""
    result = run_cli("serve", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr
    assert "deploy/prefect.yaml: 8 deployments, 2 on a schedule" in out
    assert f"app database answers: sqlite:///{isolated_env / 'operative.db'}" in out
    assert "(local server, data in" in out and "is healthy" in out
    assert "8 deployments registered" in out
    assert "reminder_sweep/reminder-sweep: 0 * * * * (Europe/Zurich), next run " in out
    assert "briefing_cycle/briefing-cycle: 0 9 1 * * (Europe/Zurich), next run " in out
    assert "ok    web app answers at http://127.0.0.1:" in out
    assert out.rstrip().endswith("All checks passed.")
    assert not list((isolated_env / "prefect" / "servers").glob("*.url"))


def test_sigterm_stops_serve_cleanly_with_its_server(
    no_prefect_api: None, isolated_env: Path
) -> None:
    """A service manager's SIGTERM must end everything, leaving no Prefect server behind."""
    process = _serve(stderr=subprocess.PIPE)
    try:
        seen = _until_serving(process)
        output = seen.decode()
        [marker] = (isolated_env / "prefect" / "servers").glob("*.url")
        assert marker.read_text(encoding="utf-8") in output
        second = run_cli("serve", "--check")
        assert second.returncode == 1
        assert second.stderr == (
            f"operative: operative serve already runs for {isolated_env} (pid {process.pid})\n"
        )
        servers = {
            pid: cmd for pid, cmd in _children(process.pid).items() if "prefect server start" in cmd
        }
        assert len(servers) == 1, _children(process.pid)

        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
        took = time.monotonic() - sent
        stdout, stderr = (seen + rest).decode(), errors.decode()
    finally:
        if process.poll() is None:
            # SIGTERM first: a SIGKILL would leave serve's Prefect server running.
            process.terminate()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
    assert process.returncode == 0, stderr
    assert took < 15, took
    assert "Traceback" not in stderr, stderr
    assert "Stopping: the web app, the runner, then the Prefect server." in stdout
    assert not any(_alive(pid) for pid in servers)
    assert not marker.exists()


def test_a_killed_serve_takes_its_server_with_it(no_prefect_api: None, isolated_env: Path) -> None:
    """SIGKILL gives serve no chance to stop its Prefect server; left running, the orphan
    would hold its port and database until someone found it."""
    process = _serve(stderr=subprocess.DEVNULL)
    try:
        _until_serving(process)
        servers = [pid for pid, cmd in _children(process.pid).items() if "server start" in cmd]
        assert len(servers) == 1
        process.kill()
        process.communicate(timeout=30)
        deadline = time.monotonic() + 20
        while _alive(servers[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(servers[0])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_unreachable_server_is_one_line_and_non_zero(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead PREFECT_API_URL must read as such, not as a stack of Prefect internals."""
    url = _dead_url()
    monkeypatch.setenv("PREFECT_API_URL", url)
    with session_scope() as session:
        register_1244(session, people={"officer": ["officer"]})
    for args in (
        ["serve"],
        ["serve", "--check"],
        ["deploy"],
        ["run", "inform_member_states", "--resolution", "1", "--as", "officer"],
    ):
        result = run_cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr == f"operative: Prefect API at {url} is not answering\n", args


@pytest.mark.parametrize(
    ("command", "old", "new", "key", "why"),
    [
        (
            ["serve", "--check"],
            'cron: "0 9 1 * *"',
            'cron: "0 25 1 * *"',
            "definitions.schedules.first_of_the_month.cron",
            "not a valid cron expression: '0 25 1 * *'",
        ),
        (
            # The file is checked before deploy asks for PREFECT_API_URL (unset here).
            ["deploy"],
            "timezone: Europe/Zurich\n    first_of_the_month",
            "timezone: Europe/Genève\n    first_of_the_month",
            "definitions.schedules.every_hour.timezone",
            "unknown time zone: 'Europe/Genève'",
        ),
    ],
    ids=["cron", "timezone"],
)
def test_bad_schedule_is_refused_with_exit_2_naming_the_key(
    no_prefect_api: None, tmp_path: Path, command: list[str], old: str, new: str, key: str, why: str
) -> None:
    """An operator's typo in a schedule stops serve and deploy before any server starts."""
    shipped = DEFAULT_PREFECT_FILE.read_text(encoding="utf-8")
    assert old in shipped
    path = tmp_path / "prefect.yaml"
    path.write_text(shipped.replace(old, new, 1), encoding="utf-8")
    result = run_cli(*command, "--prefect-file", str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"operative: {path}: {key}: {why}")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "data" / "prefect").exists()


def test_a_taken_web_port_is_one_line_and_exit_1_before_anything_starts(
    no_prefect_api: None, isolated_env: Path
) -> None:
    """Another program on the web port would otherwise surface as a uvicorn traceback after
    the Prefect server had been started for nothing."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--check", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (
        f"operative: the web app cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert not list((isolated_env / "prefect" / "servers").glob("*.url"))
