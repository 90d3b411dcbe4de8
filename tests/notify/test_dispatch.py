"""Dispatch against real receivers: an SMTP server and HTTP sinks, healthy and faulty."""

from __future__ import annotations

import random
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session, select

from operative.core.db import get_engine
from operative.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, Message
from operative.notify.dispatch import DispatchPolicy, dispatch_pending
from operative.notify.inbox import list_inbox
from tests.conftest import SEED
from tests.factories import all_states_tags, channel_file, enqueue_invitation, load_states
from tests.notify.sinks import HttpSink, SmtpServer

FAST = DispatchPolicy(concurrency=8, backoff_base=0.01, backoff_max=0.05, wait_for_retries=30)


def _deliveries(url: str) -> list[Delivery]:
    with Session(get_engine(url)) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())


def test_smtp_delivers_utf8_subjects_in_three_languages_with_the_resolution_attached(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    """Missions read accents in their subject line, and get the resolution itself."""
    load_states(db_url)
    channel_file(
        tmp_path,
        monkeypatch,
        {
            f"mailto://127.0.0.1:{smtp_server.port}?to={code.lower()}@missions.example.org"
            "&from=IOM%20Secretariat%20<gb@example.org>&mode=insecure": code
            for code in ("FRA", "MEX", "GBR")
        },
    )
    enqueue_invitation(db_url, ["FRA", "MEX", "GBR"], attachments=[SEED])
    report = dispatch_pending(policy=FAST)
    assert (report.sent, report.failed, report.pending) == (3, 0, 0)
    by_address = {str(m["To"]): m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 3
    for delivery in _deliveries(db_url):
        message: EmailMessage = by_address[f"{delivery.recipient.lower()}@missions.example.org"]
        assert message["Subject"] == delivery.title
        assert message["Idempotency-Key"] == delivery.idempotency_key
        parts = list(message.iter_attachments())
        assert [part.get_filename() for part in parts] == ["resolution-1244.txt"]
        assert parts[0].get_content().startswith(SEED.read_text(encoding="utf-8")[:40])
        assert "Invitation à faire part" in message["Subject"] or delivery.language != "fr"
    subjects = {d.language: d.title for d in _deliveries(db_url)}
    assert subjects["fr"].startswith("Invitation à faire part des positions nationales")
    assert subjects["es"].startswith("Invitación a comunicar")


def test_json_and_form_sinks_get_utf8_text_the_attachment_and_the_idempotency_key(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """A webhook receiver needs the text intact, the file, and a key to drop duplicates by."""
    load_states(db_url)
    channel_file(
        tmp_path,
        monkeypatch,
        {
            http_sink.url("json", "/json"): "FRA, MEX, GBR",
            http_sink.url("form", "/form"): "FRA, MEX, GBR",
        },
    )
    enqueue_invitation(db_url, ["FRA", "MEX", "GBR"], attachments=[SEED])
    report = dispatch_pending(policy=FAST)
    assert report.sent == 6
    assert len(http_sink.received) == 6
    resolution = SEED.read_bytes()
    for delivery in _deliveries(db_url):
        got = http_sink.kept[delivery.idempotency_key]
        assert got.path == f"/{delivery.channel}"
        assert got.fields["title"] == delivery.title
        assert got.fields["message"] == delivery.body
        assert got.attachments == {"resolution-1244.txt": resolution}
        assert delivery.status == DeliveryStatus.sent and delivery.attempts == 1


def test_each_targets_failure_is_recorded_and_escalated_to_the_secretariat(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """A refused or broken channel is visible per target, and a person is told."""
    load_states(db_url)
    http_sink.fault = lambda _n, _key, path: (
        ("status", 404) if path == "/gone" else ("status", 500) if path == "/broken" else None
    )
    channel_file(
        tmp_path,
        monkeypatch,
        {
            http_sink.url("json", "/ok"): "FRA",
            http_sink.url("json", "/gone"): "MEX",
            http_sink.url("form", "/broken"): "GBR",
            "json://127.0.0.1:1/refused": "DEU",
            "inbox://": "secretariat",
        },
    )
    enqueue_invitation(db_url, ["FRA", "MEX", "GBR", "DEU"])
    report = dispatch_pending(
        policy=DispatchPolicy(max_attempts=3, backoff_base=0.01, wait_for_retries=30)
    )
    assert (report.sent, report.failed, report.escalated) == (1 + 3, 3, 3)
    with Session(get_engine(db_url)) as session:
        rows = {
            d.recipient: d for d in session.exec(select(Delivery).where(Delivery.message_id == 1))
        }
        attempts = {
            recipient: session.exec(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == rows[recipient].id)
            ).all()
            for recipient in rows
        }
        failed_events = session.exec(select(Event).where(Event.kind == "delivery.failed")).all()
        escalations = session.exec(select(Message).where(Message.kind == "escalation")).all()
    assert rows["FRA"].status == DeliveryStatus.sent
    assert rows["MEX"].status == DeliveryStatus.failed and rows["MEX"].attempts == 1
    assert [a.http_status for a in attempts["MEX"]] == [404]
    assert "error=404" in (rows["MEX"].last_error or "")
    assert rows["GBR"].status == DeliveryStatus.failed and rows["GBR"].attempts == 3
    assert [a.http_status for a in attempts["GBR"]] == [500, 500, 500]
    assert rows["DEU"].status == DeliveryStatus.failed and "Connection error" in (
        rows["DEU"].last_error or ""
    )
    assert all(rows[r].escalated_at is not None for r in ("MEX", "GBR", "DEU"))
    assert len(failed_events) == 3 and len(escalations) == 3
    assert rows["DEU"].masked_target == "json://127.0.0.1:1/refused"
    inbox = list_inbox()
    assert sorted(item["title"] for item in inbox) == [
        "Undelivered notice: DEU (json)",
        "Undelivered notice: GBR (form)",
        "Undelivered notice: MEX (json)",
    ]
    assert all(item["recipient"] == "secretariat" for item in inbox)


def test_a_faulty_sink_ends_with_every_delivery_sent_or_failed_and_escalated_never_twice(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """30 % HTTP 500 and some timeouts: nothing left pending, nothing kept twice at the sink."""
    load_states(db_url)
    chance = random.Random(1244)
    lock = threading.Lock()

    stalls: list[str | None] = []

    def fault(_number: int, key: str | None, _path: str) -> tuple[str, float] | None:
        with lock:
            draw = chance.random()
            if 0.30 <= draw < 0.33:
                stalls.append(key)
        if draw < 0.30:
            return ("status", 500)
        if draw < 0.33:
            return ("stall", 1.2)  # past the client's 0.4 s read timeout: kept, but unanswered
        return None

    http_sink.fault = fault
    tags = all_states_tags()
    channel_file(
        tmp_path,
        monkeypatch,
        {
            f"{http_sink.url('json', '/json')}?rto=0.4": tags,
            f"{http_sink.url('form', '/form')}?rto=0.4": tags,
            "inbox://": "secretariat",
        },
    )
    enqueue_invitation(db_url)
    policy = DispatchPolicy(
        concurrency=16, max_attempts=4, backoff_base=0.02, backoff_max=0.1, wait_for_retries=60
    )
    report = dispatch_pending(policy=policy)
    rows = [d for d in _deliveries(db_url) if d.message_id == 1]
    assert len(rows) == 350
    statuses = {d.status for d in rows}
    assert statuses <= {DeliveryStatus.sent, DeliveryStatus.failed}
    assert report.pending == 0
    sent = {d.idempotency_key for d in rows if d.status == DeliveryStatus.sent}
    failed = [d for d in rows if d.status == DeliveryStatus.failed]
    assert all(d.escalated_at is not None for d in failed)
    assert set(http_sink.kept) <= {d.idempotency_key for d in rows}
    assert sent <= set(http_sink.kept)
    received_per_key: dict[str | None, int] = {}
    for item in http_sink.received:
        received_per_key[item.key] = received_per_key.get(item.key, 0) + 1
    assert http_sink.statuses.count(500) > 50, "the sink must really have failed requests"
    assert any(
        (d.last_error and "timed out" in d.last_error.lower()) or d.attempts > 1 for d in rows
    )
    # Keys the sink kept but dispatch did not record as sent: timed out here, received there.
    assert len(http_sink.kept) >= len(sent)
    print(
        f"\nfaulty sink: {len(sent)} sent, {len(failed)} failed and escalated, "
        f"{len(http_sink.received)} requests received, "
        f"{http_sink.statuses.count(500)} answered 500, "
        f"{len(http_sink.kept)} kept once each"
    )


def test_two_dispatchers_at_once_never_send_the_same_delivery(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """Claims are exclusive (SKIP LOCKED / BEGIN IMMEDIATE): no delivery goes out twice."""
    load_states(db_url)
    http_sink.delay = 0.005
    channel_file(tmp_path, monkeypatch, {http_sink.url("json"): all_states_tags()})
    enqueue_invitation(db_url)
    policy = DispatchPolicy(concurrency=4, batch_size=10)
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(dispatch_pending(policy=policy)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 175
    assert all(r.sent > 0 for r in reports), "both dispatchers should have taken a share"
    assert len(http_sink.received) == 175
    assert len({item.key for item in http_sink.received}) == 175


def test_an_inbox_delivery_interrupted_after_its_file_was_written_is_not_sent_again(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox is exactly-once: reconciliation finds the file instead of writing another."""
    load_states(db_url)
    channel_file(tmp_path, monkeypatch, {"inbox://": "FRA, MEX"})
    enqueue_invitation(db_url, ["FRA", "MEX"])
    dispatch_pending()
    with Session(get_engine(db_url)) as session:
        for delivery in session.exec(select(Delivery)):
            # As a dispatcher killed between the file's rename and its commit leaves things.
            delivery.status, delivery.claimed_by = DeliveryStatus.sending, "gone-host:1:dead"
            delivery.claimed_at = delivery.created_at
            session.add(delivery)
        session.commit()
    report = dispatch_pending(policy=DispatchPolicy(lease=0))
    assert report.reconciled == 2 and report.sent == 0
    assert {d.status for d in _deliveries(db_url)} == {DeliveryStatus.sent}
    assert len(list_inbox()) == 2
