"""The audit log: an append-only, hash-chained record of everything that changed.

Each event's hash covers its own content and the previous event's hash, so an edited,
deleted or reordered row breaks the chain at a place :func:`verify` can name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.models import Event, utcnow

GENESIS = "0" * 64
# Any constant will do: it names the lock PostgreSQL appenders queue on (SQLite's
# BEGIN IMMEDIATE already serialises them).
_PG_CHAIN_LOCK = 0x0BE7A71E


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def _digest(
    prev_hash: str, occurred_at: dt.datetime, actor: str, kind: str, subject: str, payload: str
) -> str:
    material = "\x1f".join(
        [prev_hash, occurred_at.astimezone(dt.UTC).isoformat(), actor, kind, subject, payload]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    kind: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> Event:
    """Add one event at the end of the chain, inside the caller's transaction."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})
    last = session.exec(select(Event.hash).order_by(col(Event.id).desc()).limit(1)).first()
    prev_hash = last or GENESIS
    occurred_at = (at or utcnow()).replace(microsecond=0)
    body = _canonical(payload or {})
    event = Event(
        occurred_at=occurred_at,
        actor=actor,
        kind=kind,
        subject=subject,
        payload=body,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, occurred_at, actor, kind, subject, body),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain stops holding, and why."""

    event_id: int
    reason: str


def verify(session: Session) -> tuple[int, list[ChainBreak]]:
    """Walk the chain; returns (events checked, breaks found)."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    count = 0
    for event in session.exec(select(Event).order_by(col(Event.id))):
        count += 1
        assert event.id is not None
        if event.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(event.id, "does not follow the event before it (deleted or reordered)")
            )
        recomputed = _digest(
            event.prev_hash,
            event.occurred_at,
            event.actor,
            event.kind,
            event.subject,
            event.payload,
        )
        if recomputed != event.hash:
            breaks.append(ChainBreak(event.id, "content does not match its hash (edited)"))
        expected_prev = event.hash
    return count, breaks
