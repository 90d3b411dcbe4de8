"""Shared fixtures: an isolated data dir per test, and the databases to run against.

Database-facing tests take the ``db_url`` fixture and run twice: on SQLite in the test's
own directory, and on a fresh database of the PostgreSQL server named by
``OPERATIVE_TEST_POSTGRES_URL`` (``.ci/test`` starts one). Without that server the PostgreSQL
half is skipped, unless ``OPERATIVE_REQUIRE_POSTGRES=1`` makes it a failure, as in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from operative.core.db import dispose_engines
from operative.core.settings import REPO_ROOT, get_settings

SEED = REPO_ROOT / "config" / "resolutions" / "resolution-1244.txt"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data dir and a fresh read of the settings."""
    for name in list(os.environ):
        if name.startswith("OPERATIVE_") and name not in {
            "OPERATIVE_TEST_POSTGRES_URL",
            "OPERATIVE_REQUIRE_POSTGRES",
        }:
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("OPERATIVE_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    dispose_engines()
    yield data_dir
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's Prefect API URL: one real server for every test that runs flows."""
    from flows._prefect.runtime import prefect_api

    with prefect_api(tmp_path_factory.mktemp("prefect-server")) as url:
        yield url


def _postgres_server() -> str | None:
    return os.environ.get("OPERATIVE_TEST_POSTGRES_URL") or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    server = _postgres_server()
    if server is None:
        if os.environ.get("OPERATIVE_REQUIRE_POSTGRES") == "1":
            pytest.fail("OPERATIVE_REQUIRE_POSTGRES=1 but OPERATIVE_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set OPERATIVE_TEST_POSTGRES_URL (.ci/test does)")
    import sqlalchemy as sa

    from operative.core.db import normalise_url

    name = f"operative_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(normalise_url(server)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The database URL under test, also set as OPERATIVE_DATABASE_URL for the CLI."""
    if request.param == "sqlite":
        url = f"sqlite:///{isolated_env / 'operative.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("OPERATIVE_DATABASE_URL", url)
    get_settings.cache_clear()
    return url


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``operative`` in a child process, as a user would, with this test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "operative", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=timeout,
    )
