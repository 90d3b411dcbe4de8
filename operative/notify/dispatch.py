"""Sending what the outbox holds: one call, bounded concurrency, exactly one delivery each.

:func:`dispatch_pending` first reconciles deliveries a dead dispatcher left ``sending``, then
claims due deliveries in batches (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite, so two dispatchers never claim the same row) and marks
them ``sending`` before anything goes on the wire. Each delivery is one Apprise
``async_notify`` call to a service built for it, carrying its idempotency key in an
``Idempotency-Key`` header; at most ``concurrency`` run at once, and the next batch is claimed
while the current one is still being sent. Results are written by one writer thread that
commits whatever arrived within 20 ms in a single transaction (group commit), so the window
between a send and its record stays short without a commit per send.

Outcomes, from Apprise 2's per-service result (status, attempts, captured log lines):

- success → ``sent``;
- HTTP 4xx other than 408/425/429, an SMTP 5xx refusal, a channel no longer configured →
  ``failed`` at once (permanent);
- anything else (HTTP 5xx, 408/429, timeouts, connection errors, an SMTP failure Apprise
  reports without a code) → back to ``pending`` with exponential backoff and jitter, until
  ``max_attempts``, then ``failed``.

A failed delivery is escalated: an audit event, and an ``escalation`` message to the
``secretariat`` role through the outbox (an escalation that fails is not escalated again).

After a crash, per channel:

- ``inbox://`` cannot resend: the file is named by the idempotency key and written atomically;
  reconciliation finds it and marks the delivery sent, or finds none and sends it.
- ``json://``, ``form://``, ``xml://`` (and ``mailto://``): a delivery left ``sending`` may
  have reached the receiver before the crash; the wire cannot tell, so it is sent again, with
  the same ``Idempotency-Key`` header, and the receiver drops the duplicate. A send abandoned
  on timeout may also complete later in Apprise's worker thread: the same header covers it.
- Services that take no custom headers get no key: at least once, not exactly once.

A dispatcher on this host whose process is gone is taken over at once; otherwise a ``sending``
row is taken over when its lease (``lease`` seconds from the claim) runs out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import queue
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from apprise import Apprise, AppriseAttachment, AppriseResult, NotifyFormat
from apprise.result import AppriseResultStatus
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from operative.core import audit
from operative.core.db import get_engine
from operative.models import Delivery, DeliveryAttempt, DeliveryStatus, Message, utcnow
from operative.notify.channels import (
    Channel,
    ChannelConfig,
    UnknownTarget,
    load_channels,
    parse_channels,
)
from operative.notify.inbox import has_message
from operative.notify.masking import LOGGER_NAME, install_log_redaction, redact
from operative.notify.outbox import enqueue_escalation
from operative.notify.templates import Renderer, TemplateError

log = logging.getLogger(LOGGER_NAME)

_HTTP_CODE = re.compile(r"error=(\d{3})\b")
_SMTP_REFUSAL = re.compile(r"refused: (\d{3})\b")
_RETRYABLE_4XX = {408, 425, 429}
_MAX_ERROR = 500
# How long the writer waits for more results before committing: fewer, larger transactions,
# for at most this much more time between a send and its record (the crash window).
_LINGER = 0.02


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard and how fast to send."""

    concurrency: int = 8
    # Claimed at a time; None: four times the concurrency, so a crash strands few claims.
    batch_size: int | None = None
    max_attempts: int = 5
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    send_timeout: float = 60.0
    lease: float = 600.0
    # How long one call may wait for retries falling due; 0 leaves them to the next call.
    wait_for_retries: float = 0.0

    @property
    def claim_size(self) -> int:
        return self.batch_size or 4 * self.concurrency

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` transient failures (±20 % jitter)."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, failures - 1))
        return float(delay) * random.uniform(0.8, 1.2)


@dataclass
class DispatchReport:
    """What one dispatch did."""

    sent: int = 0
    failed: int = 0
    retried_later: int = 0
    escalated: int = 0
    reconciled: int = 0
    pending: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Claim:
    id: int
    key: str
    recipient: str
    channel: str
    title: str
    body: str
    attachments: tuple[str, ...]
    attempts: int
    failures: int
    kind: str


@dataclass(frozen=True)
class _Outcome:
    claim: _Claim
    result: str  # sent | transient | permanent
    error: str | None
    http_status: int | None
    apprise_attempts: int
    masked_target: str | None
    started: dt.datetime
    finished: dt.datetime = field(default_factory=utcnow)


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, sa.inspect(model).local_table)


def dispatcher_id() -> str:
    """Who claims: host, process and a random token (two dispatchers in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _owner_alive(claimed_by: str | None) -> bool:
    """Whether the dispatcher that claimed a row may still be sending it."""
    if not claimed_by:
        return False
    host, _, rest = claimed_by.partition(":")
    if host != socket.gethostname():
        return True  # cannot see another host's processes: the lease decides
    try:
        pid = int(rest.partition(":")[0])
    except ValueError:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"  # a zombie sends nothing


def _attempt_row(
    delivery_id: int,
    number: int,
    outcome: str,
    *,
    error: str | None,
    dispatcher: str,
    target: str | None,
    http_status: int | None = None,
    started: dt.datetime | None = None,
    finished: dt.datetime | None = None,
) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=delivery_id,
        number=number,
        outcome=outcome,
        http_status=http_status,
        error=error,
        masked_target=target,
        dispatcher=dispatcher,
        started_at=started,
        finished_at=finished or utcnow(),
    )


def reconcile(engine: Engine, *, me: str, lease: float) -> int:
    """Settle deliveries a stopped dispatcher left ``sending``; returns how many."""
    now = utcnow()
    settled = 0
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery)
            .where(Delivery.status == DeliveryStatus.sending)
            .with_for_update(skip_locked=True)
        ).all()
        for delivery in rows:
            assert delivery.id is not None
            if delivery.claimed_by == me:
                continue
            expired = delivery.claimed_at is None or (
                delivery.claimed_at < now - dt.timedelta(seconds=lease)
            )
            if not expired and _owner_alive(delivery.claimed_by):
                continue
            if delivery.channel == "inbox" and has_message(delivery.idempotency_key):
                delivery.status = DeliveryStatus.sent
                delivery.sent_at = now
                delivery.attempts += 1
                outcome, note = "sent", "found in the inbox after an interrupted dispatch"
            else:
                delivery.status = DeliveryStatus.pending
                delivery.next_attempt_at = now
                delivery.reclaims += 1
                outcome = "interrupted"
                note = (
                    "the dispatcher that claimed it stopped before recording a result; "
                    "sending again (the receiver drops a duplicate by its Idempotency-Key)"
                )
            session.add(
                _attempt_row(
                    delivery.id,
                    delivery.attempts + delivery.reclaims,
                    outcome,
                    error=note,
                    dispatcher=me,
                    target=delivery.masked_target,
                    started=delivery.claimed_at,
                )
            )
            delivery.claimed_by = None
            delivery.claimed_at = None
            delivery.updated_at = now
            session.add(delivery)
            settled += 1
        if settled:
            audit.append(
                session,
                actor="dispatcher",
                kind="deliveries.reconciled",
                subject="outbox",
                payload={"deliveries": settled, "dispatcher": me},
            )
        session.commit()
    return settled


def _claim(engine: Engine, *, me: str, limit: int, only: Sequence[int] | None) -> list[_Claim]:
    now = utcnow()
    with Session(engine) as session:
        query = (
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.pending,
                sa.or_(
                    col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= now
                ),
            )
            .order_by(col(Delivery.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if only is not None:
            query = query.where(col(Delivery.id).in_(list(only)))
        ids = [delivery_id for delivery_id in session.exec(query).all() if delivery_id is not None]
        if not ids:
            session.commit()
            return []
        session.execute(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(
                status=DeliveryStatus.sending.value, claimed_by=me, claimed_at=now, updated_at=now
            )
        )
        rows = session.execute(
            sa.select(
                col(Delivery.id),
                col(Delivery.idempotency_key),
                col(Delivery.recipient),
                col(Delivery.channel),
                col(Delivery.title),
                col(Delivery.body),
                col(Message.attachments),
                col(Delivery.attempts),
                col(Delivery.failures),
                col(Message.kind),
            )
            .join(Message, col(Delivery.message_id) == Message.id)
            .where(col(Delivery.id).in_(ids))
            .order_by(col(Delivery.id))
        ).all()
        claims = [
            _Claim(
                id=row[0],
                key=row[1],
                recipient=row[2],
                channel=row[3],
                title=row[4],
                body=row[5],
                attachments=tuple(str(item["path"]) for item in row[6] or []),
                attempts=row[7],
                failures=row[8],
                kind=row[9],
            )
            for row in rows
        ]
        session.commit()
    return claims


def _seconds_until_next_due(engine: Engine, only: Sequence[int] | None) -> float | None:
    with Session(engine) as session:
        query = select(sa.func.min(Delivery.next_attempt_at)).where(
            Delivery.status == DeliveryStatus.pending
        )
        if only is not None:
            query = query.where(col(Delivery.id).in_(list(only)))
        due = session.exec(query).one()
        session.commit()
    if due is None:
        return None
    return max(0.0, (due - utcnow()).total_seconds())


def _count_pending(engine: Engine, only: Sequence[int] | None) -> int:
    with Session(engine) as session:
        query = (
            select(sa.func.count())
            .select_from(Delivery)
            .where(
                col(Delivery.status).in_(
                    [DeliveryStatus.pending.value, DeliveryStatus.sending.value]
                )
            )
        )
        if only is not None:
            query = query.where(col(Delivery.id).in_(list(only)))
        count = int(session.exec(query).one())
        session.commit()
    return count


def _error_text(result: AppriseResult) -> str:
    lines: list[str] = []
    for entry in result.logs():
        text = redact(" ".join(entry.message.split()))
        if text and text not in lines:
            lines.append(text)
    return "; ".join(lines)[:_MAX_ERROR]


def _classify(
    claim: _Claim, channel: Channel, result: AppriseResult, started: dt.datetime, timeout: float
) -> _Outcome:
    def outcome(
        kind: str, error: str | None, http: int | None = None, attempts: int = 1
    ) -> _Outcome:
        return _Outcome(claim, kind, error, http, attempts, channel.masked_url, started)

    services = result.results
    if not services:
        return outcome(
            "permanent", f"Apprise sent nothing ({result.status.name}): {_error_text(result)}"
        )
    service = services[0]
    attempts = max(1, len(service.attempts))
    if service.status == AppriseResultStatus.SUCCESS:
        return outcome("sent", None, attempts=attempts)
    detail = _error_text(result)
    if service.status == AppriseResultStatus.TIMEOUT:
        return outcome(
            "transient", f"no answer within {timeout:g} s. {detail}".strip(), attempts=attempts
        )
    http_match = _HTTP_CODE.search(detail)
    http = int(http_match.group(1)) if http_match else None
    smtp_match = _SMTP_REFUSAL.search(detail)
    smtp = int(smtp_match.group(1)) if smtp_match else None
    permanent = (http is not None and 400 <= http < 500 and http not in _RETRYABLE_4XX) or (
        smtp is not None and smtp >= 500
    )
    return outcome(
        "permanent" if permanent else "transient",
        detail or "the send failed and Apprise gave no reason",
        http or smtp,
        attempts,
    )


async def _send(claim: _Claim, channels: ChannelConfig, policy: DispatchPolicy) -> _Outcome:
    started = utcnow()
    try:
        channel = channels.channel(claim.recipient, claim.channel)
    except UnknownTarget as exc:
        return _Outcome(claim, "permanent", str(exc), None, 0, None, started)
    apprise = Apprise()
    apprise.add(channel.build(idempotency_key=claim.key, recipient=claim.recipient))
    attach = AppriseAttachment(list(claim.attachments)) if claim.attachments else None
    try:
        result = await apprise.async_notify(
            body=claim.body,
            title=claim.title,
            body_format=NotifyFormat.TEXT,
            attach=attach,
            timeout=policy.send_timeout,
        )
    except Exception as exc:
        # Apprise reports failures per service; an exception here is unexpected, and
        # retrying later is the safe answer.
        error = redact(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR]
        return _Outcome(claim, "transient", error, None, 1, channel.masked_url, started)
    try:
        return _classify(claim, channel, result, started, policy.send_timeout)
    finally:
        result.close()


class _ResultWriter:
    """Records outcomes from a background thread, one transaction per burst of results."""

    def __init__(
        self,
        engine: Engine,
        *,
        me: str,
        channels: ChannelConfig,
        renderer: Renderer | None,
        policy: DispatchPolicy,
        report: DispatchReport,
    ) -> None:
        self._engine = engine
        self._me = me
        self._channels = channels
        self._renderer = renderer
        self._policy = policy
        self._report = report
        self._queue: queue.Queue[_Outcome | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._thread.start()

    def put(self, outcome: _Outcome) -> None:
        self._queue.put(outcome)

    def flush(self) -> None:
        """Wait until everything put so far is committed."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + _LINGER
            while True:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    self._queue.task_done()
                    break
                batch.append(item)
            try:
                if self._error is None:
                    self._record(batch)
            except BaseException as exc:  # surfaced by flush()/close() in the caller
                self._error = exc
            finally:
                for _ in batch:
                    self._queue.task_done()
            if stop:
                return

    def _record(self, outcomes: list[_Outcome]) -> None:
        """One transaction for a burst of results: two statements, whatever its size."""
        delivery = _table(Delivery)
        with Session(self._engine) as session:
            ids = [outcome.claim.id for outcome in outcomes]
            # Rows still ours: a row another dispatcher took over (lease expired) is its now.
            mine = set(
                session.exec(
                    select(Delivery.id)
                    .where(
                        col(Delivery.id).in_(ids),
                        col(Delivery.status) == DeliveryStatus.sending,
                        col(Delivery.claimed_by) == self._me,
                    )
                    .with_for_update()
                ).all()
            )
            updates, attempts, failed = [], [], []
            for outcome in outcomes:
                if outcome.claim.id not in mine:
                    log.warning(
                        "delivery %s was taken over by another dispatcher; result not recorded",
                        outcome.claim.id,
                    )
                    continue
                values = self._values(outcome)
                updates.append(values)
                attempts.append(self._attempt(outcome, values["attempts"]))
                if values["status"] == DeliveryStatus.sent.value:
                    self._report.sent += 1
                elif values["status"] == DeliveryStatus.pending.value:
                    self._report.retried_later += 1
                else:
                    self._report.failed += 1
                    failed.append(outcome.claim.id)
            if updates:
                session.execute(
                    sa.update(delivery).where(delivery.c.id == sa.bindparam("delivery_id")),
                    updates,
                )
                session.execute(sa.insert(_table(DeliveryAttempt)), attempts)
            for delivery_id in failed:
                self._escalate(session, delivery_id)
            session.commit()

    def _values(self, outcome: _Outcome) -> dict[str, Any]:
        """The delivery's new columns (the same keys for every outcome, for executemany)."""
        claim, policy, now = outcome.claim, self._policy, utcnow()
        failures = 0 if outcome.result == "sent" else claim.failures + 1
        if outcome.result == "sent":
            status = DeliveryStatus.sent
        elif outcome.result == "permanent" or failures >= policy.max_attempts:
            status = DeliveryStatus.failed
        else:
            status = DeliveryStatus.pending
        return {
            "delivery_id": claim.id,
            "status": status.value,
            "attempts": claim.attempts + outcome.apprise_attempts,
            "failures": failures,
            "last_error": outcome.error,
            "masked_target": outcome.masked_target,
            "sent_at": outcome.finished if status == DeliveryStatus.sent else None,
            "next_attempt_at": (
                now + dt.timedelta(seconds=policy.backoff(failures))
                if status == DeliveryStatus.pending
                else None
            ),
            "claimed_by": None,
            "claimed_at": None,
            "updated_at": now,
        }

    def _attempt(self, outcome: _Outcome, number: int) -> dict[str, Any]:
        return {
            "delivery_id": outcome.claim.id,
            "number": number,
            "outcome": outcome.result,
            "http_status": outcome.http_status,
            "error": outcome.error,
            "masked_target": outcome.masked_target,
            "dispatcher": self._me,
            "started_at": outcome.started,
            "finished_at": outcome.finished,
        }

    def _escalate(self, session: Session, delivery_id: int) -> None:
        session.flush()
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        session.refresh(delivery)
        message = session.get(Message, delivery.message_id)
        assert message is not None
        audit.append(
            session,
            actor="dispatcher",
            kind="delivery.failed",
            subject=f"delivery:{delivery_id}",
            payload={
                "message": message.key,
                "recipient": delivery.recipient,
                "channel": delivery.channel,
                "attempts": delivery.attempts,
                "error": delivery.last_error,
                "target": delivery.masked_target,
            },
        )
        if message.kind == "escalation":
            log.error("escalation delivery %s failed: %s", delivery_id, delivery.last_error)
            return
        try:
            enqueue_escalation(
                session, delivery, message, channels=self._channels, renderer=self._renderer
            )
        except (LookupError, TemplateError, ValueError) as exc:
            log.error("delivery %s failed and could not be escalated: %s", delivery_id, exc)
            audit.append(
                session,
                actor="dispatcher",
                kind="delivery.escalation_failed",
                subject=f"delivery:{delivery_id}",
                payload={"reason": redact(str(exc))},
            )
            return
        delivery.escalated_at = utcnow()
        session.add(delivery)
        self._report.escalated += 1


async def _pump(
    engine: Engine,
    me: str,
    channels: ChannelConfig,
    policy: DispatchPolicy,
    selected: Sequence[int] | None,
    writer: _ResultWriter,
) -> None:
    """Send everything due now: ``concurrency`` workers fed by a claimer that stays ahead.

    The claimer takes the next batch while the workers still have sends in hand, so the
    pipeline never drains at a batch boundary, and claims stay a small window ahead of the
    sends (a crash strands at most about ``claim_size + concurrency`` claims).
    """
    work: deque[_Claim] = deque()
    ready = asyncio.Condition()
    exhausted = False

    async def claimer() -> None:
        nonlocal exhausted
        try:
            while True:
                async with ready:
                    await ready.wait_for(lambda: len(work) < policy.concurrency)
                claims = await asyncio.to_thread(
                    _claim, engine, me=me, limit=policy.claim_size, only=selected
                )
                async with ready:
                    work.extend(claims)
                    exhausted = not claims
                    ready.notify_all()
                if not claims:
                    return
        finally:
            async with ready:
                exhausted = True
                ready.notify_all()

    async def worker() -> None:
        while True:
            async with ready:
                await ready.wait_for(lambda: bool(work) or exhausted)
                if not work:
                    return
                claim = work.popleft()
                ready.notify_all()
            writer.put(await _send(claim, channels, policy))

    await asyncio.gather(claimer(), *(worker() for _ in range(policy.concurrency)))


async def dispatch_pending_async(
    *,
    database_url: str | None = None,
    channels: ChannelConfig | None = None,
    policy: DispatchPolicy | None = None,
    only: Iterable[int] | None = None,
    renderer: Renderer | None = None,
) -> DispatchReport:
    """Send every due delivery (or only those with the given ids); see the module docstring."""
    install_log_redaction()
    started = time.monotonic()
    engine = get_engine(database_url)
    channels = channels or load_channels()
    policy = policy or DispatchPolicy()
    selected = None if only is None else sorted(set(only))
    me = dispatcher_id()
    report = DispatchReport()
    report.reconciled = await asyncio.to_thread(reconcile, engine, me=me, lease=policy.lease)
    writer = _ResultWriter(
        engine, me=me, channels=channels, renderer=renderer, policy=policy, report=report
    )
    try:
        while True:
            await _pump(engine, me, channels, policy, selected, writer)
            await asyncio.to_thread(writer.flush)
            wait = await asyncio.to_thread(_seconds_until_next_due, engine, selected)
            elapsed = time.monotonic() - started
            if wait is None or (wait > 0 and elapsed + wait > policy.wait_for_retries):
                break  # due now (an escalation just enqueued, say): go round again
            if wait > 0:
                await asyncio.sleep(wait)
    finally:
        await asyncio.to_thread(writer.close)
    report.pending = await asyncio.to_thread(_count_pending, engine, selected)
    report.seconds = round(time.monotonic() - started, 3)
    if report.sent or report.failed or report.reconciled:
        with Session(engine) as session:
            audit.append(
                session,
                actor="dispatcher",
                kind="deliveries.dispatched",
                subject="outbox",
                payload={**report.as_dict(), "dispatcher": me},
            )
            session.commit()
    return report


def dispatch_pending(
    *,
    database_url: str | None = None,
    channels: ChannelConfig | None = None,
    policy: DispatchPolicy | None = None,
    only: Iterable[int] | None = None,
    renderer: Renderer | None = None,
) -> DispatchReport:
    """Synchronous :func:`dispatch_pending_async` (for the CLI and Prefect tasks)."""
    return asyncio.run(
        dispatch_pending_async(
            database_url=database_url,
            channels=channels,
            policy=policy,
            only=only,
            renderer=renderer,
        )
    )


@dataclass(frozen=True)
class TestResult:
    """One channel's answer to a test notice."""

    channel: str
    target: str
    ok: bool
    error: str | None


def send_test(
    target: str, *, channels: ChannelConfig | None = None, timeout: float = 30.0
) -> list[TestResult]:
    """Send a test notice to a tag of the configuration or to an Apprise URL."""
    install_log_redaction()
    if "://" in target:
        import yaml

        document = yaml.safe_dump({"version": 1, "urls": [{target: {"tag": "operative-test"}}]})
        routes = list(parse_channels(document, source="TARGET").channels)
        recipient = "operative-test"
    else:
        routes = (channels or load_channels()).for_recipient(target)
        recipient = target
    policy = DispatchPolicy(send_timeout=timeout)

    async def run() -> list[_Outcome]:
        key = f"test-{uuid.uuid4().hex}"
        claims = [
            _Claim(
                0,
                f"{key}-{channel.name}",
                recipient,
                channel.name,
                "operative: test notice",
                f"A test notice from operative through the {channel.name} channel.\n",
                (),
                0,
                0,
                "test",
            )
            for channel in routes
        ]
        config = ChannelConfig(source="TARGET", channels=tuple(routes))
        return list(await asyncio.gather(*(_send(c, config, policy) for c in claims)))

    return [
        TestResult(o.claim.channel, o.masked_target or "", o.result == "sent", o.error)
        for o in asyncio.run(run())
    ]
