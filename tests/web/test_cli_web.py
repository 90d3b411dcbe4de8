"""The commands around the web app: passwords for existing users and fresh portal links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from operative.core.settings import REPO_ROOT
from operative.models import User
from operative.web.auth import authenticate
from tests.conftest import run_cli
from tests.web.conftest import Register


def test_users_password_reads_stdin_and_lets_the_user_sign_in(
    data_dir: Path, register: Register
) -> None:
    """The demo's people get a password without a terminal, then can sign in."""
    done = subprocess.run(
        [sys.executable, "-m", "operative", "users", "password", "chair"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with register.session() as session:
        assert authenticate(session, "chair", "a long enough password") is not None
        assert session.exec(select(User).where(User.username == "chair")).one().password_hash


def test_portal_link_command_prints_a_working_link(client: TestClient) -> None:
    """A mission whose link expired gets a new one from the secretariat."""
    printed = run_cli("portal-link", "sen", "--obligation", "4", "--days", "5")
    assert printed.returncode == 0, printed.stderr
    link = printed.stdout.strip()
    assert link.startswith("http://127.0.0.1:8000/portal/")
    page = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and 'data-state="SEN"' in page.text
    unknown = run_cli("portal-link", "XXX", "--obligation", "4")
    assert unknown.returncode == 2 and "not an active Member State" in unknown.stderr
