"""Tasks that speak to people: put a message in the outbox and send what is due, as one batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prefect import task
from prefect.cache_policies import NONE
from sqlmodel import Session, select

from operative.core.db import session_scope
from operative.models import Delivery
from operative.notify.dispatch import DispatchReport, dispatch_pending
from operative.notify.outbox import enqueue
from operative.notify.recipients import Recipient, member_state_recipients, role_recipient
from tasks import REGISTER
from tasks.store import StepResult

# What one message says to each Member State of its own (its link, its language's summary),
# keyed by ISO code; merged into the message's context for that state.
PerState = Mapping[str, Mapping[str, str]]


class Sent(StepResult):
    """What sending one message did: its recipients and deliveries, and the dispatch after it."""

    message_id: int
    recipients: int
    deliveries: int
    sent: int
    failed: int
    pending: int
    dispatch: DispatchReport | None = None


def _recipients(
    session: Session,
    *,
    states: list[str] | None,
    all_states: bool,
    roles: list[str],
    per_state: PerState | None,
) -> list[Recipient]:
    found: list[Recipient] = []
    if all_states or states:
        for recipient in member_state_recipients(session, None if all_states else states):
            extra = (per_state or {}).get(recipient.iso3 or recipient.ref.upper(), {})
            found.append(replace(recipient, context={**recipient.context, **extra}))
    found.extend(role_recipient(session, role) for role in roles)
    return found


@task(**REGISTER)
def send_message(
    key: str,
    kind: str,
    obligation_id: int,
    context: Mapping[str, Any],
    *,
    roles: list[str] | None = None,
    states: list[str] | None = None,
    all_states: bool = False,
    per_state: PerState | None = None,
    attachments: list[str] | None = None,
) -> Sent:
    """Enqueue one message (idempotent by ``key``) and dispatch everything due, in one batch."""
    with session_scope() as session:
        recipients = _recipients(
            session, states=states, all_states=all_states, roles=roles or [], per_state=per_state
        )
        result = enqueue(
            session,
            key=key,
            kind=kind,
            recipients=recipients,
            context=context,
            attachments=attachments or [],
            obligation_id=obligation_id,
            actor=f"flow:{kind}",
        )
    report = dispatch_pending()
    with session_scope() as session:
        statuses = list(
            session.exec(select(Delivery.status).where(Delivery.message_id == result.message_id))
        )
    return Sent(
        message_id=result.message_id,
        recipients=len(recipients),
        deliveries=result.total,
        sent=statuses.count("sent"),
        failed=statuses.count("failed"),
        pending=len(statuses) - statuses.count("sent") - statuses.count("failed"),
        dispatch=report,
    )


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def dispatch_due() -> DispatchReport:
    """Send everything due in the outbox, as one batch."""
    return dispatch_pending()
