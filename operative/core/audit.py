"""The audit log: an append-only, hash-chained record of everything that changed.

Each event's hash covers its own content and the previous event's hash, so an edited,
deleted or reordered row breaks the chain at a place :func:`verify` can name. The chain alone
cannot see its own end change (the last event deleted, rewritten with a recomputed hash, or a
well-formed one added), so every append also records the end in the one-row ``audit_head``
table, in the same transaction. Someone who rewrites the events *and* that row with SQL is
beyond what the database can show by itself: keep ``audit verify``'s head hash elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from operative.core import clock
from operative.models import AuditHead, Event

Row = TypeVar("Row", bound=SQLModel)
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
    occurred_at = (at or clock.now()).replace(microsecond=0)
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
    assert event.id is not None
    head = session.get(AuditHead, 1)
    if head is None:
        session.add(AuditHead(id=1, sequence=event.id, hash=event.hash))
    else:
        head.sequence, head.hash = event.id, event.hash
    session.flush()
    return event


def write(
    session: Session,
    row: Row,
    *,
    actor: str,
    kind: str,
    event: Callable[[Row], tuple[str, dict[str, Any]]],
) -> Row:
    """Write ``row`` and append the event that records the change, in the caller's transaction.

    ``event`` gives the event's subject and payload from the written row, so that both can
    name the id the database has just given it.
    """
    session.add(row)
    session.flush()
    subject, payload = event(row)
    append(session, actor=actor, kind=kind, subject=subject, payload=payload)
    return row


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain stops holding, and why."""

    event_id: int
    reason: str


def verify(session: Session) -> tuple[int, list[ChainBreak]]:
    """Walk the chain; returns (events checked, breaks found, first break first).

    Each break names the sequence number (the event id) where the log stops holding: the
    edited event, the deleted one (or the first of a deleted run), the one moved out of place,
    or the one added. Ids of PostgreSQL may skip a number (a rolled-back append uses one up),
    so a missing number alone is no break; it only explains one.
    """
    events = list(session.exec(select(Event).order_by(col(Event.id))))
    position = {event.hash: event.id for event in events}
    breaks: list[ChainBreak] = []
    previous: Event | None = None
    for event in events:
        assert event.id is not None
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
        expected = previous.hash if previous is not None else GENESIS
        if event.prev_hash != expected:
            breaks.append(_link_break(event, previous, position))
        previous = event
    breaks.extend(_head_breaks(session, previous))
    return len(events), breaks


def _link_break(
    event: Event, previous: Event | None, position: dict[str, int | None]
) -> ChainBreak:
    """Why ``event`` does not follow ``previous``, named at the event most likely tampered with."""
    assert event.id is not None
    if previous is None:
        if event.id == 1:
            return ChainBreak(event.id, "does not start the chain (inserted or rewritten)")
        missing = "event 1" if event.id == 2 else f"events 1 to {event.id - 1}"
        return ChainBreak(1, f"missing (deleted): {missing} gone, event {event.id} is first now")
    assert previous.id is not None
    follows = position.get(event.prev_hash)
    if follows is not None and follows > previous.id:
        return ChainBreak(
            event.id, f"out of place (reordered): it was chained after event {follows}"
        )
    if follows is not None:
        return ChainBreak(
            follows + 1,
            f"inserted or moved here: event {event.id} was chained directly after event {follows}",
        )
    if event.id == previous.id + 1:
        return ChainBreak(
            previous.id,
            f"rewritten, or an event inserted before {event.id}: "
            f"event {event.id} was chained to another event {previous.id}",
        )
    return ChainBreak(
        previous.id + 1,
        f"missing (deleted), or event {previous.id} rewritten: "
        f"event {event.id} does not follow event {previous.id}",
    )


def _head_breaks(session: Session, last: Event | None) -> list[ChainBreak]:
    """Compare the log's end with the end recorded by the last append."""
    head = session.get(AuditHead, 1)
    if head is None:
        if last is None:
            return []
        assert last.id is not None
        return [ChainBreak(last.id, "the record of the log's end is missing (deleted)")]
    if last is None or last.id is None or last.id < head.sequence:
        ends = f"the log ends at event {last.id}" if last is not None else "the log is empty"
        return [ChainBreak(head.sequence, f"missing (deleted): {ends}, it ended at this one")]
    if last.id > head.sequence:
        return [_added_after(session, head)]
    if last.hash != head.hash:
        return [ChainBreak(last.id, "rewritten: the last event is not the one last appended")]
    return []


def _added_after(session: Session, head: AuditHead) -> ChainBreak:
    """The first of the events that follow the recorded end: added without an append."""
    first_after = session.exec(
        select(Event.id).where(col(Event.id) > head.sequence).order_by(col(Event.id)).limit(1)
    ).one()
    assert first_after is not None
    return ChainBreak(
        first_after,
        f"added outside the application (inserted): the log ended at event {head.sequence}",
    )
