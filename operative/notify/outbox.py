"""The outbox: a message becomes one delivery per (message, recipient, channel).

Enqueuing is idempotent. A message has a business key ("obligation:5:invitation:cycle:0");
each delivery has an idempotency key derived from (message key, recipient, channel), unique in
the database, so enqueuing the same message again adds nothing, and two processes enqueuing it
at once add each delivery once (``INSERT … ON CONFLICT DO NOTHING``). A recipient added later
(a new Member State) gets its delivery on the next enqueue of the same key.

Everything that can fail does so before the first write: every recipient's channels are looked
up and every subject and body rendered (in the recipient's language and zone), and every
attachment is copied under the data dir, then the rows are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.core.db import insert_ignoring_duplicates
from operative.core.settings import get_settings
from operative.errors import Conflict, Invalid, NotFound
from operative.models import Delivery, DeliveryStatus, Message
from operative.notify.channels import Channel, ChannelConfig, load_channels
from operative.notify.recipients import Recipient, role_recipient
from operative.notify.templates import Rendered, Renderer, default_renderer

ESCALATION_ROLE = "secretariat"


@dataclass(frozen=True)
class EnqueueResult:
    """What an enqueue did: the message, whether it is new, and the deliveries it added."""

    message_id: int
    key: str
    created: bool
    added: int
    total: int


def idempotency_key(message_key: str, recipient: str, channel: str) -> str:
    """The delivery's idempotency key: stable, opaque, safe as a file name and a header."""
    material = "\x1f".join([message_key, recipient.strip().lower(), channel])
    return "op-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _snapshot(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Copy each attachment under the data dir, content-addressed; what is sent is what was read."""
    store = get_settings().data_dir / "outbox" / "attachments"
    kept = []
    for given in paths:
        source = Path(given)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise Invalid(f"attachment {source}: cannot read: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        target = store / digest / source.name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            partial.write_bytes(data)
            partial.replace(target)
        kept.append({"name": source.name, "path": str(target), "size": len(data), "sha256": digest})
    return kept


def _insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    session.execute(insert_ignoring_duplicates(session, sa.inspect(model).local_table, rows))


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipients: Sequence[Recipient],
    context: Mapping[str, Any] | None = None,
    attachments: Iterable[str | Path] = (),
    obligation_id: int | None = None,
    channels: ChannelConfig | None = None,
    renderer: Renderer | None = None,
    actor: str = "operative",
) -> EnqueueResult:
    """Put a message in the outbox for ``recipients``, in the caller's transaction."""
    key = _checked_key(key, recipients)
    common = dict(context or {})
    planned = _render_all(
        kind,
        recipients,
        common,
        channels=channels or load_channels(),
        renderer=renderer or default_renderer(),
    )
    message, created = _message(
        session,
        key=key,
        kind=kind,
        obligation_id=obligation_id,
        context=common,
        attachments=attachments,
    )
    assert message.id is not None
    existing = set(
        session.exec(select(Delivery.idempotency_key).where(Delivery.message_id == message.id))
    )
    rows = _delivery_rows(message.id, key, planned, existing)
    if rows:
        _insert_ignoring_duplicates(session, Delivery, rows)
    total = len(session.exec(select(Delivery.id).where(Delivery.message_id == message.id)).all())
    added = total - len(existing)
    if added:
        audit.append(
            session,
            actor=actor,
            kind="message.enqueued",
            subject=f"message:{message.id}",
            payload={"key": key, "kind": kind, "deliveries_added": added, "deliveries": total},
        )
    session.flush()
    return EnqueueResult(message.id, key, created, added, total)


def _checked_key(key: str, recipients: Sequence[Recipient]) -> str:
    """The message key, stripped (``Invalid`` for no key, no recipient, one listed twice)."""
    key = key.strip()
    if not key:
        raise Invalid("a message needs a non-empty key")
    if not recipients:
        raise Invalid(f"message {key}: no recipients")
    refs = [recipient.ref.strip().lower() for recipient in recipients]
    if len(set(refs)) != len(refs):
        raise Invalid(f"message {key}: a recipient is listed twice")
    return key


_Planned = tuple[Recipient, Channel, Rendered]


def _render_all(
    kind: str,
    recipients: Sequence[Recipient],
    common: Mapping[str, Any],
    *,
    channels: ChannelConfig,
    renderer: Renderer,
) -> list[_Planned]:
    """Every recipient's channels and notice, before anything is written."""
    planned: list[_Planned] = []
    for recipient in recipients:
        routes = channels.for_recipient(recipient.ref)
        rendered = renderer.render(
            kind,
            language=recipient.language,
            timezone=recipient.timezone,
            context={**common, **recipient.context, "recipient": recipient.template_vars()},
        )
        planned.extend((recipient, channel, rendered) for channel in routes)
    return planned


def _message(
    session: Session,
    *,
    key: str,
    kind: str,
    obligation_id: int | None,
    context: Mapping[str, Any],
    attachments: Iterable[str | Path],
) -> tuple[Message, bool]:
    """The message with this key, and whether this call created it (``Conflict`` if the key
    belongs to another kind of message)."""
    message = session.exec(select(Message).where(Message.key == key)).first()
    created = message is None
    if message is None:
        now = clock.now()
        _insert_ignoring_duplicates(
            session,
            Message,
            [
                {
                    "key": key,
                    "kind": kind,
                    "obligation_id": obligation_id,
                    "context": _jsonable(context),
                    "attachments": _snapshot(attachments),
                    "created_at": now,
                }
            ],
        )
        message = session.exec(select(Message).where(Message.key == key)).one()
        # Another process may have inserted it first: then it is theirs.
        created = message.created_at == now
    if message.kind != kind:
        raise Conflict(f"message key {key!r} is already used by a {message.kind} message")
    return message, created


def _delivery_rows(
    message_id: int, key: str, planned: Sequence[_Planned], existing: set[str]
) -> list[dict[str, Any]]:
    """The rows of the deliveries not in ``existing`` (idempotency keys already stored)."""
    now = clock.now()
    rows = []
    for recipient, channel, rendered in planned:
        delivery_key = idempotency_key(key, recipient.ref, channel.name)
        if delivery_key in existing:
            continue
        rows.append(
            {
                "message_id": message_id,
                "recipient": recipient.ref,
                "channel": channel.name,
                "idempotency_key": delivery_key,
                "language": rendered.language,
                "timezone": recipient.timezone,
                "title": rendered.subject,
                "body": rendered.body,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "failures": 0,
                "reclaims": 0,
                "masked_target": channel.masked_url,
                # Due in real time (clock.wall_time), as the dispatcher claims it.
                "next_attempt_at": clock.wall_time(),
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def enqueue_escalation(
    session: Session,
    delivery: Delivery,
    message: Message,
    *,
    channels: ChannelConfig,
    renderer: Renderer | None = None,
    actor: str = "dispatcher",
) -> EnqueueResult:
    """Tell the secretariat, through the outbox, that ``delivery`` failed for good."""
    return enqueue(
        session,
        key=f"escalation:{delivery.idempotency_key}",
        kind="escalation",
        recipients=[role_recipient(session, ESCALATION_ROLE)],
        context={
            "failed_recipient": delivery.recipient,
            "channel": delivery.channel,
            "message_kind": message.kind,
            "message_key": message.key,
            "attempts": delivery.attempts,
            "error": delivery.last_error or "unknown",
            "target": delivery.masked_target or delivery.channel,
            "delivery_id": delivery.id,
        },
        obligation_id=message.obligation_id,
        channels=channels,
        renderer=renderer,
        actor=actor,
    )


def retry(session: Session, delivery_id: int, *, actor: str = "cli") -> Delivery:
    """Give a failed delivery a fresh set of attempts, due now."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    if delivery.status != DeliveryStatus.failed:
        raise Invalid(
            f"delivery {delivery_id} is {DeliveryStatus(delivery.status).value}: "
            "only a failed delivery is retried"
        )
    delivery.status = DeliveryStatus.pending
    delivery.failures = 0
    delivery.next_attempt_at = clock.wall_time()
    delivery.updated_at = clock.now()
    session.add(delivery)
    audit.append(
        session,
        actor=actor,
        kind="delivery.retried",
        subject=f"delivery:{delivery_id}",
        payload={"recipient": delivery.recipient, "channel": delivery.channel},
    )
    session.flush()
    return delivery


def list_deliveries(
    session: Session, *, failed_only: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """The most recent deliveries (newest first), as plain data for tables and JSON."""
    query = (
        select(Delivery, Message)
        .join(Message, col(Delivery.message_id) == Message.id)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    )
    if failed_only:
        query = query.where(Delivery.status == DeliveryStatus.failed)
    return [
        {
            "id": delivery.id,
            "message": message.key,
            "kind": message.kind,
            "recipient": delivery.recipient,
            "channel": delivery.channel,
            "language": delivery.language,
            "status": DeliveryStatus(delivery.status).value,
            "attempts": delivery.attempts,
            "target": delivery.masked_target,
            "last_error": delivery.last_error,
            "sent_at": delivery.sent_at,
            "escalated_at": delivery.escalated_at,
            "idempotency_key": delivery.idempotency_key,
        }
        for delivery, message in session.exec(query).all()
    ]
