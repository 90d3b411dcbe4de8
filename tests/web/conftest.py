"""The web tests run the app with TestClient against a real SQLite database, copied for each
test from one seeded once per session (migrations and 175 Member States take seconds; a copy
takes milliseconds)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from operative.db import dispose_engines, get_engine
from operative.settings import get_settings
from operative.web.app import create_app
from tests.web.factories import seed_register

# What a trigger starts in these tests: a process that prints the command line it was given,
# instead of `python -m operative` (which would start a Prefect server).
ECHO_COMMAND = (sys.executable, "-c", "import sys; print(' '.join(sys.argv[1:]))")


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the seeded register."""
    folder = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPERATIVE_DATA_DIR", str(folder))
        patch.delenv("OPERATIVE_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        dispose_engines()
        with Session(get_engine()) as session:
            seed_register(session)
        dispose_engines()  # closes the last connection: SQLite folds the WAL into the file
    get_settings.cache_clear()
    return folder / "operative.db"


@pytest.fixture
def data_dir(isolated_env: Path, seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's data dir, holding its own copy of the seeded database."""
    isolated_env.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded_db, isolated_env / "operative.db")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    return isolated_env


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    """The app over this test's database, not following redirects."""
    with TestClient(create_app(run_command=ECHO_COMMAND), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def session(data_dir: Path) -> Iterator[Session]:
    """A session on this test's database, to look at what the app did."""
    with Session(get_engine(), expire_on_commit=False) as db:
        yield db
