"""Claiming deliveries: who claims, taking due rows, and settling rows a stopped dispatcher left.

A claim marks rows ``sending`` (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite) before anything goes on the wire, so two dispatchers
never send the same row; :func:`reconcile` settles the rows of a dispatcher that stopped.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.core.processes import process_gone, this_process
from operative.models import Delivery, DeliveryAttempt, DeliveryStatus, Message
from operative.notify.inbox import has_message


@dataclass(frozen=True)
class Claim:
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


def dispatcher_id() -> str:
    """Who claims: the process (``host:pid:start``) and a random token (two dispatchers in one
    process differ)."""
    return f"{this_process()}:{secrets.token_hex(4)}"


def _owner_alive(claimed_by: str | None) -> bool:
    """Whether the dispatcher that claimed a row may still be sending it (on another host,
    which cannot be seen from here, the lease decides)."""
    return bool(claimed_by) and not process_gone(claimed_by)


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
        finished_at=finished or clock.now(),
    )


def reconcile(engine: Engine, *, me: str, lease: float) -> int:
    """Settle deliveries a stopped dispatcher left ``sending``; returns how many."""
    now = clock.now()
    # Claims and retries are timed in real seconds (clock.wall_time), stamps in business time.
    lease_start, due = clock.wall_time() - dt.timedelta(seconds=lease), clock.wall_time()
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
            expired = delivery.claimed_at is None or delivery.claimed_at < lease_start
            if not expired and _owner_alive(delivery.claimed_by):
                continue
            if delivery.channel == "inbox" and has_message(delivery.idempotency_key):
                delivery.status = DeliveryStatus.sent
                delivery.sent_at = now
                delivery.attempts += 1
                outcome, note = "sent", "found in the inbox after an interrupted dispatch"
            else:
                delivery.status = DeliveryStatus.pending
                delivery.next_attempt_at = due
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


def claim_due(engine: Engine, *, me: str, limit: int, only: Sequence[int] | None) -> list[Claim]:
    # Due and claimed in real seconds (clock.wall_time): the retry back-off and the lease.
    now, stamp = clock.wall_time(), clock.now()
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
                status=DeliveryStatus.sending.value, claimed_by=me, claimed_at=now, updated_at=stamp
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
            Claim(
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


def seconds_until_next_due(engine: Engine, only: Sequence[int] | None) -> float | None:
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
    return max(0.0, (due - clock.wall_time()).total_seconds())


def count_pending(engine: Engine, only: Sequence[int] | None) -> int:
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
