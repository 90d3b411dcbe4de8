"""Tasks over national positions (1244 OP4): invitations, reminders, how the campaign stands."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from prefect import task

from operative.core.db import session_scope
from operative.models import Obligation
from operative.playbooks import national_positions as positions
from operative.register import obligations
from tasks import REGISTER


@task(**REGISTER)
def invite_states(obligation_id: int, expires_at: dt.datetime) -> dict[str, dict[str, str]]:
    """Record every active Member State as invited; each state's own link, as message context."""
    with session_scope() as session:
        codes = positions.invite_all(session, obligation_id)
    links = positions.portal_links(obligation_id, codes, expires_at=expires_at)
    return {code: {"link": link} for code, link in links.items()}


@task(**REGISTER)
def states_to_remind(
    obligation_id: int, invited_before: dt.datetime, expires_at: dt.datetime
) -> dict[str, dict[str, str]]:
    """Stamp the reminder on the states that have not answered; their links, as message context."""
    with session_scope() as session:
        codes = positions.remind_pending(session, obligation_id, invited_before=invited_before)
    links = positions.portal_links(obligation_id, codes, expires_at=expires_at)
    return {code: {"link": link} for code, link in links.items()}


@task(**REGISTER)
def campaign_status(obligation_id: int, deadline: dt.datetime, closed: bool) -> dict[str, Any]:
    """Counts, progress (also recorded on the obligation), the per-state matrix and a summary."""
    with session_scope() as session:
        summary = positions.summarise(session, obligation_id)
        progress = positions.progress(summary, closed=closed)
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise LookupError(f"no obligation {obligation_id}")
        obligations.set_progress(session, obligation, progress)
        return {
            **dataclasses.asdict(summary),
            "unreviewed": summary.unreviewed,
            "progress": progress,
            "rows": positions.matrix(session, obligation_id),
            "markdown": positions.summary_markdown(summary, deadline=deadline, closed=closed),
        }
