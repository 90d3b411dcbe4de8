"""Planted credentials go to the receivers that need them, and nowhere else.

A channel configuration (Apprise YAML, in the test's own config folder) carries a password in
each URL (from a secret file), a ``+header`` value written into the file, and a ``:payload``
value from the environment; ``OPERATIVE_SECRET_KEY`` and a database password are planted too.
Then real work: a notice enqueued and dispatched to a real HTTP sink (sent), a real SMTP
server that checks the login (sent) and an HTTP endpoint that refuses (failed, escalated), the
failed delivery retried from the CLI, CLI listings, an API request, and CLI errors (a database
that cannot be reached, a channel file that does not load). None of the planted values, nor
their URL-encoded or Basic-auth forms, may appear in a log record (DEBUG included), the
process's own stderr, a CLI's output, an error message, a row of any table, or a file under
the data dir. The masked forms (``****``) are what should be there instead.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from operative.core.db import get_engine
from operative.core.settings import REPO_ROOT
from operative.models import Delivery, DeliveryStatus
from operative.notify.dispatch import DispatchPolicy, dispatch_pending
from operative.notify.masking import secrets
from operative.register import users
from operative.web.app import create_app
from tests.factories import channel_file, enqueue_invitation, load_states
from tests.notify.sinks import HttpSink, SmtpServer

PASSWORD = "pl4nted-Chan-PW-5e1d"
HEADER = "pl4nted-Header-7c2a"
PAYLOAD = "pl4nted-Payload-93bf"
SECRET_KEY = "pl4nted-Secret-Key-4b6e0f3a9d1c"
DB_PASSWORD = "pl4nted-DB-PW-0a77"
USER_PASSWORD = "pl4nted sign-in words"
# The password as an HTTP Basic Authorization header carries it.
BASIC = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()


@pytest.fixture
def receivers() -> Iterator[tuple[HttpSink, SmtpServer]]:
    """An HTTP sink that refuses /denied (401), and an SMTP server that checks the login."""
    sink = HttpSink(fault=lambda _n, _key, path: ("status", 401) if path == "/denied" else None)
    smtp = SmtpServer(login=("notices", PASSWORD))
    yield sink, smtp
    sink.close()
    smtp.close()
    secrets.clear()


def _planted(extra: list[str]) -> dict[str, list[str]]:
    """Each planted value, and the forms it could leak in."""
    values = [PASSWORD, HEADER, PAYLOAD, SECRET_KEY, DB_PASSWORD, USER_PASSWORD, *extra]
    forms = {value: sorted({value, quote(value, safe=""), quote_plus(value)}) for value in values}
    forms[PASSWORD].append(BASIC)
    return forms


def _leaks(text: str, planted: dict[str, list[str]]) -> list[str]:
    return [value for value, forms in planted.items() if any(form in text for form in forms)]


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``operative ARGS`` in a child process with this test's environment, logging at DEBUG."""
    return subprocess.run(
        [sys.executable, "-m", "operative", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PREFECT_LOGGING_LEVEL": "DEBUG", **env},
        timeout=120,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_planted_credentials_reach_the_receivers_and_no_log_row_file_or_message(
    db_url: str,
    tmp_path: Path,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    receivers: tuple[HttpSink, SmtpServer],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Catches a credential written out in clear: an Apprise URL logged or stored unmasked (its
    password, a +header or :payload value), an error text quoting the URL, a database URL with
    its password in a CLI error, or the secret key in a row or a file."""
    sink, smtp = receivers
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPERATIVE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("HOOK_PAYLOAD", PAYLOAD)
    config = tmp_path / "config"
    config.mkdir()
    (config / "channel_password").write_text(PASSWORD + "\n", encoding="utf-8")
    password = f"${{file:{config}/channel_password}}"
    mail = "to=fra@missions.example.org&from=gb@example.org&mode=insecure"
    channel_file(
        config,
        monkeypatch,
        {
            f"json://ops:{password}@127.0.0.1:{sink.port}/ok"
            f"?+X-Api-Key={HEADER}&:api_token=${{HOOK_PAYLOAD}}": "FRA",
            f"form://ops:{password}@127.0.0.1:{sink.port}/denied?+X-Api-Key={HEADER}": "FRA",
            f"mailto://notices:{password}@127.0.0.1:{smtp.port}?{mail}": "FRA",
            "inbox://": "secretariat",
        },
    )
    server_password = sa.engine.make_url(db_url).password
    planted = _planted([str(server_password)] if server_password else [])

    load_states(db_url)
    enqueue_invitation(db_url, ["FRA"], key="secrets:invitation")
    with Session(get_engine(db_url)) as session:
        users.add_user(
            session, "officer", name="Officer", roles=["officer"], password=USER_PASSWORD
        )
        session.commit()
    report = dispatch_pending(policy=DispatchPolicy(max_attempts=1, backoff_base=0.01))
    assert (report.sent, report.failed) == (3, 1), report  # json, mail, escalation; form refused

    # The receivers did get the credentials: otherwise this test would prove nothing.
    delivered = next(item for item in sink.received if item.path == "/ok")
    assert delivered.headers["X-Api-Key"] == HEADER
    assert delivered.fields["api_token"] == PAYLOAD
    assert delivered.headers["Authorization"] == f"Basic {BASIC}"
    assert ("notices", PASSWORD) in smtp.logins and len(smtp.messages) == 1

    with Session(get_engine(db_url)) as session:
        failed = session.exec(
            select(Delivery).where(Delivery.status == DeliveryStatus.failed)
        ).one()
        assert failed.channel == "form" and "****" in (failed.masked_target or "")

    outputs: dict[str, str] = {}
    for args in (
        ("deliveries", "retry", str(failed.id)),
        ("deliveries", "--json"),
        ("notify", "test", "FRA"),
        ("notify", "dispatch", "--json"),
        ("inbox", "--json"),
    ):
        done = _cli(*args)
        outputs[" ".join(args)] = done.stdout + done.stderr
    assert "****" in outputs["deliveries --json"]
    # CLI errors: an unreachable database named with its password, a channel file that fails.
    unreachable = f"postgresql://probe:{DB_PASSWORD}@127.0.0.1:9/operative"
    done = _cli("status", OPERATIVE_DATABASE_URL=unreachable)
    assert done.returncode == 1 and "database unavailable" in done.stderr, done.stderr
    outputs["status (unreachable database)"] = done.stdout + done.stderr
    broken = config / "broken.yml"
    broken.write_text(
        f"version: 1\nurls:\n  - json://ops:{PASSWORD}@/x?+K={HEADER}&:t=${{UNSET_SECRET}}:\n"
        "      tag: FRA\n",
        encoding="utf-8",
    )
    done = _cli("notify", "test", "FRA", OPERATIVE_APPRISE_CONFIG=str(broken))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    outputs["notify test (broken config)"] = done.stdout + done.stderr

    # The web API, signed in (session tokens are signed with the planted key).
    with TestClient(create_app()) as client:
        signed = client.post("/api/token", data={"username": "officer", "password": USER_PASSWORD})
        assert signed.status_code == 200
        bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        listed = client.get("/api/deliveries?limit=200", headers=bearer)
        assert listed.status_code == 200 and "****" in listed.text
        outputs["GET /api/deliveries"] = listed.text
        wrong = client.post("/api/token", data={"username": "officer", "password": PASSWORD})
        outputs["POST /api/token (wrong password)"] = wrong.text

    leaks = {name: _leaks(text, planted) for name, text in outputs.items()}
    assert not any(leaks.values()), leaks

    records = [
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    ]
    assert records and not [line for line in records if _leaks(line, planted)]
    captured = capfd.readouterr()
    assert not _leaks(captured.out + captured.err, planted)

    with get_engine(db_url).connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                assert not _leaks(repr(tuple(row)), planted), table.name

    files = [path for path in isolated_env.rglob("*") if path.is_file()]
    assert any(path.parent.name == "inbox" for path in files)
    for path in files:
        assert not _leaks(path.read_bytes().decode("utf-8", "replace"), planted), path
