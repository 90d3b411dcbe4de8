"""A channel's receiver down for a while, through the real dispatch loop (no mocks).

The receiver is a webhook endpoint on a fixed loopback port: while it is down nothing listens
there, so every send is refused at connect (a transient error, retried with backoff); when it
comes back it keeps each message once per ``Idempotency-Key``. Deliveries must end ``sent`` once
it is back, or ``failed`` and escalated once the retry budget is spent, and never stay
``pending`` or ``sending`` after the loop has had the time its policy asks for.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from operative.core.db import get_engine
from operative.models import Delivery, DeliveryStatus, Event
from operative.notify.dispatch import DispatchPolicy, DispatchReport, dispatch_pending
from operative.notify.outbox import retry
from tests.factories import (
    all_states_tags,
    channel_file,
    deliveries_of,
    enqueue_invitation,
    load_states,
)
from tests.notify.sinks import HttpSink


@pytest.fixture
def receiver() -> Iterator[HttpSink]:
    """A webhook endpoint on a port of its own, down until the test brings it up."""
    sink = HttpSink(listening=False)
    yield sink
    sink.down()


def _campaign(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int, tags: str
) -> None:
    """An invitation to the Member States tagged, by webhook; escalations to the local inbox."""
    load_states(db_url)
    channel_file(
        tmp_path, monkeypatch, {f"json://127.0.0.1:{port}/hook": tags, "inbox://": "secretariat"}
    )
    codes = [code.strip() for code in tags.split(",")]
    enqueue_invitation(db_url, codes, key="outage:invitation")


def _stuck(db_url: str) -> int:
    with Session(get_engine(db_url)) as session:
        return len(
            session.exec(
                select(Delivery).where(
                    col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending])
                )
            ).all()
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_deliveries_refused_during_an_outage_are_sent_once_the_receiver_is_back(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: HttpSink
) -> None:
    """Catches a connection refusal treated as final (deliveries failed during a short outage),
    retries sent without waiting (the budget spent in a burst before the receiver is back), a
    delivery left pending or sending, and a message sent twice once the receiver is back."""
    _campaign(db_url, tmp_path, monkeypatch, receiver.port, all_states_tags())
    states = len(deliveries_of("invitation", db_url))
    policy = DispatchPolicy(
        max_attempts=8, backoff_base=0.25, backoff_max=2.0, send_timeout=10, wait_for_retries=60
    )
    outcome: list[DispatchReport] = []
    loop = threading.Thread(target=lambda: outcome.append(dispatch_pending(policy=policy)))
    loop.start()
    # Down until every delivery has been refused at least once (an event, not a sleep: on a
    # loaded machine a fixed outage can end before the dispatcher has tried them all).
    started = time.monotonic()
    while any(r.attempts < 1 for r in deliveries_of("invitation", db_url)):
        assert time.monotonic() - started < 60, "the dispatcher tried nothing for 60 s"
        time.sleep(0.05)
    outage = time.monotonic() - started
    receiver.up()
    loop.join(timeout=120)
    assert not loop.is_alive() and outcome, "the dispatch loop did not end"
    report = outcome[0]

    rows = deliveries_of("invitation", db_url)
    assert [r.status for r in rows] == [DeliveryStatus.sent] * states, report
    assert all(r.attempts >= 2 for r in rows)
    assert _stuck(db_url) == 0
    # Each message reached the receiver exactly once: every attempt before was refused.
    requests = receiver.requests_per_key()
    assert set(requests) == {r.idempotency_key for r in rows}
    assert set(requests.values()) == {1}
    assert (report.sent, report.failed, report.pending) == (states, 0, 0)
    attempts = collections.Counter(r.attempts for r in rows)
    print(
        f"outage {outage:.1f} s, {states} deliveries: {sum(r.attempts for r in rows) - states} refused,"
        f" attempts per delivery {dict(sorted(attempts.items()))}, {report.seconds} s"
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_an_outage_longer_than_the_retry_budget_ends_failed_and_escalated(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: HttpSink
) -> None:
    """Catches a delivery retried for ever (or left pending) while its receiver stays down, a
    failure nobody is told of (no audit event, no escalation to the secretariat), a failed
    delivery sent again by a later dispatch on its own, and one that cannot be retried by hand
    once the receiver is back."""
    tags = "FRA, MEX, GBR, CHE, SEN, PHL, BRA, EGY, NOR, JPN"
    _campaign(db_url, tmp_path, monkeypatch, receiver.port, tags)
    policy = DispatchPolicy(max_attempts=3, backoff_base=0.1, backoff_max=0.5, wait_for_retries=30)
    report = dispatch_pending(policy=policy)

    rows = deliveries_of("invitation", db_url)
    assert len(rows) == 10
    assert all(r.status == DeliveryStatus.failed and r.attempts == 3 for r in rows)
    assert all(r.escalated_at is not None and r.last_error for r in rows)
    assert (report.failed, report.escalated, report.pending) == (10, 10, 0)
    escalations = deliveries_of("escalation", db_url)
    assert len(escalations) == 10 and {e.status for e in escalations} == {DeliveryStatus.sent}
    assert {e.recipient for e in escalations} == {"secretariat"}
    with Session(get_engine(db_url)) as session:
        failed_events = session.exec(select(Event).where(Event.kind == "delivery.failed")).all()
    assert {e.subject for e in failed_events} == {f"delivery:{r.id}" for r in rows}
    assert _stuck(db_url) == 0

    # Back up: a later dispatch sends nothing on its own; a retry by hand sends one, once.
    receiver.up()
    again = dispatch_pending(policy=policy)
    assert (again.sent, again.failed) == (0, 0) and not receiver.received
    with Session(get_engine(db_url)) as session:
        retry(session, rows[0].id or 0)
        session.commit()
    dispatch_pending(policy=policy, only=[rows[0].id or 0])
    assert [r.status for r in deliveries_of("invitation", db_url)].count(DeliveryStatus.sent) == 1
    assert list(receiver.requests_per_key().values()) == [1]
    assert _stuck(db_url) == 0
