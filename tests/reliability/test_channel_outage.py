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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from operative.core.db import get_engine
from operative.models import Delivery, DeliveryStatus, Event, Message
from operative.notify.dispatch import DispatchPolicy, DispatchReport, dispatch_pending
from operative.notify.outbox import enqueue, retry
from operative.notify.recipients import member_state_recipients
from tests.notify.factories import all_states_tags, invitation_context, load_states, write_config
from tests.notify.sinks import free_port


class Receiver:
    """A webhook endpoint on a fixed port that can be taken down and brought back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: collections.Counter[str] = collections.Counter()
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests[self.headers.get("Idempotency-Key") or "?"] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.down()


def _campaign(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int, tags: str
) -> None:
    """An invitation to the Member States tagged, by webhook; escalations to the local inbox."""
    load_states(db_url)
    write_config(
        tmp_path,
        monkeypatch,
        f"""
        version: 1
        urls:
          - json://127.0.0.1:{port}/hook:
              tag: {tags}
          - inbox://:
              tag: secretariat
        """,
    )
    with Session(get_engine(db_url)) as session:
        codes = [code.strip() for code in tags.split(",")]
        enqueue(
            session,
            key="outage:invitation",
            kind="invitation",
            recipients=member_state_recipients(session, codes),
            context=invitation_context(),
        )
        session.commit()


def _rows(db_url: str, kind: str = "invitation") -> list[Delivery]:
    with Session(get_engine(db_url)) as session:
        return list(
            session.exec(
                select(Delivery)
                .join(Message, col(Delivery.message_id) == Message.id)
                .where(Message.kind == kind)
                .order_by(col(Delivery.id))
            )
        )


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
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Catches a connection refusal treated as final (deliveries failed during a short outage),
    retries sent without waiting (the budget spent in a burst before the receiver is back), a
    delivery left pending or sending, and a message sent twice once the receiver is back."""
    _campaign(db_url, tmp_path, monkeypatch, receiver.port, all_states_tags())
    states = len(_rows(db_url))
    policy = DispatchPolicy(
        max_attempts=8, backoff_base=0.25, backoff_max=2.0, send_timeout=10, wait_for_retries=60
    )
    outcome: list[DispatchReport] = []
    loop = threading.Thread(target=lambda: outcome.append(dispatch_pending(policy=policy)))
    outage = 2.0
    loop.start()
    time.sleep(outage)  # down: nothing listens on the port
    receiver.up()
    loop.join(timeout=120)
    assert not loop.is_alive() and outcome, "the dispatch loop did not end"
    report = outcome[0]

    rows = _rows(db_url)
    assert [r.status for r in rows] == [DeliveryStatus.sent] * states, report
    assert all(r.attempts >= 2 for r in rows)
    assert _stuck(db_url) == 0
    # Each message reached the receiver exactly once: every attempt before was refused.
    assert set(receiver.requests) == {r.idempotency_key for r in rows}
    assert set(receiver.requests.values()) == {1}
    assert (report.sent, report.failed, report.pending) == (states, 0, 0)
    attempts = collections.Counter(r.attempts for r in rows)
    print(
        f"outage {outage} s, {states} deliveries: {sum(r.attempts for r in rows) - states} refused,"
        f" attempts per delivery {dict(sorted(attempts.items()))}, {report.seconds} s"
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_an_outage_longer_than_the_retry_budget_ends_failed_and_escalated(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Catches a delivery retried for ever (or left pending) while its receiver stays down, a
    failure nobody is told of (no audit event, no escalation to the secretariat), a failed
    delivery sent again by a later dispatch on its own, and one that cannot be retried by hand
    once the receiver is back."""
    tags = "FRA, MEX, GBR, CHE, SEN, PHL, BRA, EGY, NOR, JPN"
    _campaign(db_url, tmp_path, monkeypatch, receiver.port, tags)
    policy = DispatchPolicy(max_attempts=3, backoff_base=0.1, backoff_max=0.5, wait_for_retries=30)
    report = dispatch_pending(policy=policy)

    rows = _rows(db_url)
    assert len(rows) == 10
    assert all(r.status == DeliveryStatus.failed and r.attempts == 3 for r in rows)
    assert all(r.escalated_at is not None and r.last_error for r in rows)
    assert (report.failed, report.escalated, report.pending) == (10, 10, 0)
    escalations = _rows(db_url, "escalation")
    assert len(escalations) == 10 and {e.status for e in escalations} == {DeliveryStatus.sent}
    assert {e.recipient for e in escalations} == {"secretariat"}
    with Session(get_engine(db_url)) as session:
        failed_events = session.exec(select(Event).where(Event.kind == "delivery.failed")).all()
    assert {e.subject for e in failed_events} == {f"delivery:{r.id}" for r in rows}
    assert _stuck(db_url) == 0

    # Back up: a later dispatch sends nothing on its own; a retry by hand sends one, once.
    receiver.up()
    again = dispatch_pending(policy=policy)
    assert (again.sent, again.failed) == (0, 0) and not receiver.requests
    with Session(get_engine(db_url)) as session:
        retry(session, rows[0].id or 0)
        session.commit()
    dispatch_pending(policy=policy, only=[rows[0].id or 0])
    assert [r.status for r in _rows(db_url)].count(DeliveryStatus.sent) == 1
    assert list(receiver.requests.values()) == [1]
    assert _stuck(db_url) == 0
