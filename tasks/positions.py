"""Tasks over national positions (1244 OP4): invitations and how the campaign stands (its
reminders are :mod:`tasks.reminders`')."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from prefect import task

from operative.core.db import session_scope
from operative.errors import NotFound
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


@dataclass(frozen=True)
class Campaign:
    """How a campaign stands: its counts, progress, per-state matrix and Markdown summary."""

    summary: positions.Summary
    progress: int
    rows: list[dict[str, str]]
    markdown: str

    @property
    def counts(self) -> str:
        """The counts in a few words, for the run's page and the register's note."""
        s = self.summary
        return (
            f"{s.invited} invited, {s.reminded} reminded, "
            f"{s.received} received, {s.reviewed} reviewed"
        )


@task(**REGISTER)
def campaign_status(obligation_id: int, deadline: dt.datetime, closed: bool) -> Campaign:
    """Counts, progress (also recorded on the obligation), the per-state matrix and a summary."""
    with session_scope() as session:
        summary = positions.summarise(session, obligation_id)
        progress = positions.progress(summary, closed=closed)
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise NotFound(f"no obligation {obligation_id}")
        obligations.set_progress(session, obligation, progress)
        return Campaign(
            summary=summary,
            progress=progress,
            rows=positions.matrix(session, obligation_id),
            markdown=positions.summary_markdown(summary, deadline=deadline, closed=closed),
        )
