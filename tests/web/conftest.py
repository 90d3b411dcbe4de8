"""The web tests run the app with TestClient against a real SQLite database, copied for each
test from one seeded once per session (migrations and 175 Member States take seconds; a copy
takes milliseconds)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from operative.core.db import get_engine
from operative.web.app import create_app
from tests.factories import register_1244_with_work, seeded_data_dir

T = TypeVar("T")

# What a trigger starts in these tests: a process that prints the command line it was given,
# instead of `python -m operative` (which would start a Prefect server).
ECHO_COMMAND = (sys.executable, "-c", "import sys; print(' '.join(sys.argv[1:]))")


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the seeded register."""
    folder = seeded_data_dir(tmp_path_factory.mktemp("seed"), register_1244_with_work)
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


class Register:
    """Looks at this test's database, each look in a transaction of its own.

    SQLite transactions here begin with BEGIN IMMEDIATE (operative.core.db), so a test holding one
    open would block the app's writes: every look ends its transaction before returning.
    """

    def get(self, model: type[T], key: Any) -> T:
        with Session(get_engine(), expire_on_commit=False) as session:
            row = session.get(model, key)
            assert row is not None, f"no {model.__name__} {key}"
            return row

    def update(self, model: type[T], key: Any, **values: Any) -> T:
        """Set ``values`` on one row and commit: a change made behind the app's back."""
        with Session(get_engine(), expire_on_commit=False) as session:
            row = session.get(model, key)
            assert row is not None, f"no {model.__name__} {key}"
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
            session.commit()
            return row

    def all(self, query: Any) -> list[Any]:
        with Session(get_engine(), expire_on_commit=False) as session:
            return list(session.exec(query).all())

    def count(self, model: type[Any], *where: Any) -> int:
        with Session(get_engine()) as session:
            return int(session.exec(select(func.count()).select_from(model).where(*where)).one())

    def session(self) -> Session:
        """A session for setting something up; commit or roll back before using the app."""
        return Session(get_engine(), expire_on_commit=False)


@pytest.fixture
def register(data_dir: Path) -> Register:
    """Short looks at this test's database."""
    return Register()
