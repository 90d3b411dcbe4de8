"""A planted credential must appear in no log line, no database row and no error message."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from operative.core.db import get_engine
from operative.notify.channels import ChannelConfigError, load_channels
from operative.notify.dispatch import DispatchPolicy, dispatch_pending, send_test
from tests.conftest import run_cli
from tests.factories import channel_file, enqueue_invitation, load_states
from tests.notify.sinks import HttpSink

TOKEN = "planted-T0KEN-9f2c41"
PASSWORD = "planted-PW-77ab1e"


def _leaks(text: str) -> list[str]:
    return [secret for secret in (TOKEN, PASSWORD) if secret in text]


def test_a_planted_secret_reaches_the_receiver_but_no_log_row_or_error(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_sink: HttpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Credentials go where they are meant to, and nowhere else, even at DEBUG level."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    secret_file = tmp_path / "hook_password"
    secret_file.write_text(PASSWORD + "\n")
    http_sink.fault = lambda _n, _key, path: ("status", 401) if path == "/denied" else None
    hook = f"ops:${{file:{secret_file}}}@127.0.0.1:{http_sink.port}"
    token = "${HOOK_TOKEN}"  # read from the environment when the file loads
    channel_file(
        tmp_path,
        monkeypatch,
        {
            f"json://{hook}/ok?+X-Hook-Token=Bearer%20{token}&:api_token={token}": "FRA",
            f"form://{hook}/denied?+X-Api-Key={token}": "FRA",
            "inbox://": "secretariat",
        },
    )
    load_states(db_url)
    enqueue_invitation(db_url, ["FRA"], key="k:secret")
    report = dispatch_pending(policy=DispatchPolicy(max_attempts=1))
    assert (report.sent, report.failed) == (2, 1)  # the json send, the escalation; form refused

    # The receiver did get the credentials: the test would prove nothing otherwise.
    delivered = next(item for item in http_sink.received if item.path == "/ok")
    assert delivered.headers["X-Hook-Token"] == f"Bearer {TOKEN}"
    basic = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    assert delivered.headers["Authorization"] == f"Basic {basic}"
    assert delivered.fields["api_token"] == TOKEN

    # No log line, at any level, from Apprise or operative.
    lines = [record.getMessage() for record in caplog.records]
    lines += [caplog.text]
    assert lines and not [line for line in lines if _leaks(line)]

    # No row of any table.
    engine = get_engine(db_url)
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                assert not _leaks(repr(tuple(row))), table.name

    # No error message: a bad entry carrying the secret, and the CLI's own output.
    bad = tmp_path / "bad.yml"
    bad.write_text(f"version: 1\nurls:\n  - json://ops:{PASSWORD}@/x?+K={TOKEN}:\n      tag: A\n")
    with pytest.raises(ChannelConfigError) as caught:
        load_channels(bad)
    assert not _leaks(str(caught.value))
    results = send_test(f"json://ops:{PASSWORD}@127.0.0.1:{http_sink.port}/denied?+K={TOKEN}")
    assert not results[0].ok and not _leaks(repr(results))
    for args in (("deliveries", "--json"), ("notify", "test", "FRA"), ("inbox", "--json")):
        completed = run_cli(*args)
        assert not _leaks(completed.stdout + completed.stderr), args
