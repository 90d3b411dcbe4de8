"""Exactly once across crashes: a dispatcher killed with SIGKILL at random points, restarted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from operative.core.db import get_engine
from operative.core.settings import REPO_ROOT
from operative.models import Delivery, DeliveryStatus
from tests.factories import all_states_tags, channel_file, enqueue_invitation, load_states
from tests.notify.sinks import HttpSink

KILLS = 10


def _dispatcher(env: dict[str, str], *, keep_stderr: bool = False) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "operative", "notify", "dispatch", "--concurrency", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if keep_stderr else subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_dispatcher_killed_at_random_points_still_delivers_once_per_recipient_and_channel(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """175 states x 2 channels, 10 SIGKILLs mid-send: every message kept exactly once.

    SQLite only: each kill costs a process start, and the claim path on PostgreSQL is covered
    by the two-dispatchers test. The sink counts what it received (resends at the wire are
    expected after a kill) and what it kept (one per idempotency key).
    """
    url = f"sqlite:///{isolated_env / 'operative.db'}"
    monkeypatch.setenv("OPERATIVE_DATABASE_URL", url)
    load_states(url)
    http_sink.delay = 0.04
    tags = all_states_tags()
    channel_file(
        tmp_path,
        monkeypatch,
        {http_sink.url("json", "/json"): tags, http_sink.url("form", "/form"): tags},
    )
    enqueue_invitation(url)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    chance = random.Random(20121127)
    kills = 0
    while kills < KILLS:
        before = len(http_sink.received)
        process = _dispatcher(env)
        deadline = time.monotonic() + 60
        while len(http_sink.received) == before and process.poll() is None:
            assert time.monotonic() < deadline, "the dispatcher never started sending"
            time.sleep(0.002)
        assert process.poll() is None, "all was sent before the planned kills: add work"
        time.sleep(chance.uniform(0.0, 0.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    final = _dispatcher(env, keep_stderr=True)
    _, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr.decode()

    with Session(get_engine(url)) as session:
        rows = session.exec(select(Delivery)).all()
    keys = {row.idempotency_key for row in rows}
    assert len(rows) == 350
    assert {row.status for row in rows} == {DeliveryStatus.sent}
    assert set(http_sink.kept) == keys
    kept_per_target = Counter(
        (row.recipient, row.channel) for row in rows if row.idempotency_key in http_sink.kept
    )
    assert set(kept_per_target.values()) == {1} and len(kept_per_target) == 350
    received = Counter(item.key for item in http_sink.received)
    reclaims = {row.idempotency_key: row.reclaims for row in rows}
    # A key arrives more than once only if a crash interrupted its send, once per crash at most.
    assert all(count - 1 <= reclaims[key] for key, count in received.items() if key)
    resends = sum(received.values()) - len(received)
    print(
        f"\ncrash test: {kills} kills; {sum(received.values())} requests received "
        "for 350 deliveries; "
        f"{resends} resends at the wire, all dropped by Idempotency-Key; 0 duplicates kept; "
        f"{sum(reclaims.values())} claims taken back from killed dispatchers"
    )
