"""Tasks of the reminder sweep: find what is due and enqueue it, in one transaction."""

from __future__ import annotations

from typing import Any

from prefect import task

from operative import calendar, sweep
from operative.db import session_scope
from tasks import REGISTER


@task(**REGISTER)
def enqueue_due_reminders() -> dict[str, Any]:
    """Find every reminder due now and put it in the outbox as one batch."""
    now = calendar.now()
    with session_scope() as session:
        due = sweep.find_due(session, now)
        counts = sweep.enqueue_due(session, due, now=now)
    return {"as_of": now.isoformat(), "due": len(due), **counts}
