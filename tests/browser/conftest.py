"""Browser tests: the real app, served by ``operative web`` (uvicorn) in a child process on a
free loopback port, driven by Debian's headless Chromium through Playwright.

The register is made once per session the way a secretariat makes it (``operative init`` and
``operative ingest`` of resolution 1244, people added through the core with their passwords)
and copied into each test's own data dir, so every test starts its own server on its own
SQLite file. Playwright never downloads a browser: it launches ``/usr/bin/chromium``
(``./.ci/install test`` installs it); without that binary these tests are skipped.

Screenshots go to ``$OPERATIVE_SCREENSHOTS/<test name>/`` when that is set (to keep a run's
pictures), else under the test's tmp_path; each one is checked to be a non-empty PNG.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlmodel import Session

from operative.core.db import dispose_engines, get_engine
from operative.core.settings import REPO_ROOT, get_settings
from tests.conftest import SEED
from tests.factories import add_people, seeded_data_dir
from tests.notify.sinks import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "geneva-1244-hld"
# Signs the session cookies and the portal links: the server and this process share it.
SECRET_KEY = "browser-tests-secret-key-not-for-production"
# username: (full name, roles). "olga" drafts what the others decide (four-eyes); "carl" holds
# the Chairperson's role but drafts too, so a draft of his is one he may not decide.
PEOPLE = {
    "olga": ("Olga Officer", ["officer"]),
    "claire": ("Claire Chair", ["chair"]),
    "dora": ("Dora DG Office", ["director_general"]),
    "victor": ("Victor Viewer", ["viewer"]),
    "carl": ("Carl Chair", ["chair"]),
}
# A loaded 2-core machine: a page may take seconds to render, a server seconds to start.
ACTION_TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000
SERVER_START_SECONDS = 90.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "operative", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        timeout=180,
    )
    assert done.returncode == 0, f"operative {' '.join(args)}: {done.stderr or done.stdout}"
    return done.stdout


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding 1244 registered by the CLI and the people, with passwords."""
    folder = tmp_path_factory.mktemp("browser-seed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATIVE_", "PREFECT_"))}
    env["OPERATIVE_DATA_DIR"] = str(folder)
    _cli(env, "init")
    _cli(env, "ingest", str(SEED))
    return seeded_data_dir(
        folder,
        lambda session: add_people(
            session,
            {username: roles for username, (_name, roles) in PEOPLE.items()},
            names={username: name for username, (name, _roles) in PEOPLE.items()},
            passwords=dict.fromkeys(PEOPLE, PASSWORD),
        ),
    )


@pytest.fixture
def data_dir(isolated_env: Path, seeded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's data dir with its own copy of the seeded database, and the settings the
    server will share with this process (secret key; the public URL is set by ``site``)."""
    isolated_env.mkdir(parents=True, exist_ok=True)
    for path in seeded_dir.glob("operative.db*"):
        shutil.copyfile(path, isolated_env / path.name)
    monkeypatch.setenv("OPERATIVE_SECRET_KEY", SECRET_KEY)
    for name in ("PREFECT_API_URL", "PREFECT_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    dispose_engines()
    return isolated_env


@dataclass(frozen=True)
class Site:
    """The running app: its base URL, its data dir and its log."""

    url: str
    data_dir: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "operative", "web", "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            cwd=data_dir,
        )


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> bool:
    """True once /healthz answers; False if the process ended first (e.g. the port was taken)."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/healthz", timeout=5.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"operative web did not answer on {url} in {SERVER_START_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@pytest.fixture
def site(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """``operative web`` on a free loopback port over this test's data dir."""
    log = data_dir / "web.log"
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # Portal links printed by `operative portal-link` must point at this server.
        monkeypatch.setenv("OPERATIVE_PUBLIC_URL", url)
        get_settings.cache_clear()
        process = _start(data_dir, port, log)
        try:
            started = _wait_healthy(process, url)
        except BaseException:
            _stop(process)
            raise
        if started:
            break
    else:
        raise AssertionError(f"operative web did not start:\n{log.read_text(errors='replace')}")
    running = Site(url, data_dir, log)
    try:
        yield running
    finally:
        _stop(process)
        dispose_engines()
        # Shown by pytest only when the test failed: what the server said meanwhile.
        print(f"--- {log.name} (last lines) ---\n{running.log_tail()}")


@pytest.fixture
def db(data_dir: Path) -> Iterator[Session]:
    """A session on this test's database, to prepare work: commit before the browser acts.

    The app opens every transaction with ``BEGIN IMMEDIATE`` (reads too), so a transaction
    left open here holds SQLite's write lock and the server's requests wait for it.
    """
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def fetch(statement: Any) -> Any:
    """The first row of ``statement`` as committed now, read in a short transaction."""
    with Session(get_engine(), expire_on_commit=False) as session:
        return session.exec(statement).first()


# --- the browser --------------------------------------------------------------------------


# Package scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and every later test calling asyncio.run() (the outbox's dispatch,
# Prefect) would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM}: `./.ci/install test` installs Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium from Debian's package: Playwright's own download is never used."""
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, timeout=NAVIGATION_TIMEOUT_MS
    )
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser, site: Site) -> Iterator[Callable[..., BrowserContext]]:
    """Opens a fresh browser context (its own cookies: one person) on the site."""
    opened: list[BrowserContext] = []

    def open_context(**options: object) -> BrowserContext:
        context = browser.new_context(
            base_url=site.url, viewport={"width": 1280, "height": 900}, **options
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a context of its own."""
    return new_context().new_page()


@pytest.fixture(scope="session")
def screenshot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Read here, before the per-test fixture clears OPERATIVE_* from the environment.
    chosen = os.environ.get("OPERATIVE_SCREENSHOTS")
    return Path(chosen).resolve() if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shoot(screenshot_root: Path, request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Saves a full-page screenshot as ``<root>/<test>/<NN>-<name>.png`` and checks it."""
    folder = screenshot_root / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken: list[Path] = []

    def take(page: Page, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        data = path.read_bytes()
        assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE), path
        taken.append(path)
        return path

    return take


def sign_in(page: Page, username: str, *, at: str = "/") -> None:
    """Open ``at`` signed out, sign in on the page it sends us to, and land back on ``at``."""
    from playwright.sync_api import expect

    page.goto(at)
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-user")).to_contain_text(PEOPLE[username][0])
