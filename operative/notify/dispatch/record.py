"""Recording outcomes: one writer thread, one transaction per burst of results (group commit).

The writer commits whatever arrived within 20 ms in a single transaction, so the window
between a send and its record stays short without a commit per send. A failed delivery is
escalated here: an audit event, and an ``escalation`` message to the ``secretariat`` role.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.errors import OperativeError
from operative.models import Delivery, DeliveryAttempt, DeliveryStatus, Message
from operative.notify.channels import ChannelConfig
from operative.notify.dispatch.policy import DispatchPolicy, DispatchReport
from operative.notify.dispatch.send import Outcome
from operative.notify.masking import LOGGER_NAME, redact
from operative.notify.outbox import enqueue_escalation
from operative.notify.templates import Renderer

log = logging.getLogger(LOGGER_NAME)

# How long the writer waits for more results before committing: fewer, larger transactions,
# for at most this much more time between a send and its record (the crash window).
_LINGER = 0.02


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, sa.inspect(model).local_table)


class ResultWriter:
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
        self._queue: queue.Queue[Outcome | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._thread.start()

    def put(self, outcome: Outcome) -> None:
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

    def _record(self, outcomes: list[Outcome]) -> None:
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

    def _values(self, outcome: Outcome) -> dict[str, Any]:
        """The delivery's new columns (the same keys for every outcome, for executemany)."""
        claim, policy, now = outcome.claim, self._policy, clock.now()
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
            # The back-off is in real seconds (clock.wall_time), whatever the business day.
            "next_attempt_at": (
                clock.wall_time() + dt.timedelta(seconds=policy.backoff(failures))
                if status == DeliveryStatus.pending
                else None
            ),
            "claimed_by": None,
            "claimed_at": None,
            "updated_at": now,
        }

    def _attempt(self, outcome: Outcome, number: int) -> dict[str, Any]:
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
        except OperativeError as exc:
            log.error("delivery %s failed and could not be escalated: %s", delivery_id, exc)
            audit.append(
                session,
                actor="dispatcher",
                kind="delivery.escalation_failed",
                subject=f"delivery:{delivery_id}",
                payload={"reason": redact(str(exc))},
            )
            return
        delivery.escalated_at = clock.now()
        session.add(delivery)
        self._report.escalated += 1
