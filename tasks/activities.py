"""Tasks over what officers log and what the engagement, statement and tracking playbooks
write: activities and their cadence, facts recorded once, drafted texts, and notes per language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from prefect import task

from operative.core.db import session_scope
from operative.errors import NotFound
from operative.models import Obligation
from operative.notify.recipients import member_state_recipients
from operative.playbooks import statements
from operative.playbooks.track_obligation import Fact
from operative.register import documents, obligations, records, steps
from operative.register.runs import Brief
from tasks import REGISTER


@dataclass(frozen=True)
class Lapse:
    """A lapse of cadence, and the alert that reports it."""

    start: dt.date
    end: dt.date
    days: int
    # One alert per lapse: a lapse is known by the day it started.
    cycle: int
    alert: Mapping[str, str]


@dataclass(frozen=True)
class Found:
    """The activities of a period, its lapses, and the closing report's text."""

    activities: int
    with_migrants: int
    lapses: tuple[Lapse, ...]
    report: statements.Text


@dataclass(frozen=True)
class Facts:
    """An obligation's kind and the facts recorded against it, by kind, oldest first."""

    kind: str
    records: Mapping[str, tuple[Fact, ...]]


@task(**REGISTER)
def engagement(brief: Brief, since: dt.date, until: dt.date, weeks: int) -> Found:
    """The activities of a period, each lapse of cadence with its alert, and the report text."""
    source = statements.Source.of(brief)
    with session_scope() as session:
        record = records.engagement(
            session, brief.obligation_id, since=since, until=until, weeks=weeks
        )
        return Found(
            activities=len(record.activities),
            with_migrants=record.with_migrants,
            lapses=tuple(
                Lapse(
                    start=gap.start,
                    end=gap.end,
                    days=gap.days,
                    cycle=gap.start.toordinal(),
                    alert=statements.lapse_alert(
                        source, gap, weeks=weeks, still_open=record.is_open(gap)
                    ),
                )
                for gap in record.lapses
            ),
            report=statements.engagement_report(source, record),
        )


@task(**REGISTER)
def pending_cycles(obligation_id: int, step: str, cycles: list[int]) -> list[int]:
    """Those of ``cycles`` whose step has not been done yet, in the order given."""
    with session_scope() as session:
        return [c for c in cycles if steps.find(session, obligation_id, step, c) is None]


@task(**REGISTER)
def record_once(
    obligation_id: int,
    step: str,
    *,
    kind: str,
    text: str,
    actor: str,
    occurred_at: dt.datetime | None = None,
) -> None:
    """Record a fact as a flow step: once, with the step, in one transaction."""
    with session_scope() as session:
        if steps.find(session, obligation_id, step) is not None:
            return
        record = records.add_record(
            session, obligation_id, kind=kind, text=text, actor=actor, occurred_at=occurred_at
        )
        steps.record(session, obligation_id, step, result={"record": record.id})


@task(**REGISTER)
def facts(obligation_id: int) -> Facts:
    """The obligation's kind and the facts recorded against it, by kind, oldest first."""
    with session_scope() as session:
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise NotFound(f"no obligation {obligation_id}")
        by_kind: dict[str, list[Fact]] = {}
        for record in records.records(session, obligation_id):
            assert record.id is not None
            by_kind.setdefault(record.kind, []).append(
                Fact(id=record.id, kind=record.kind, text=record.text, reference=record.reference)
            )
        return Facts(
            kind=obligation.kind, records={kind: tuple(found) for kind, found in by_kind.items()}
        )


@task(**REGISTER)
def document_text(obligation_id: int, kind: str, document_id: int) -> statements.Text:
    """The title and body of a stored draft, exactly as it was approved."""
    with session_scope() as session:
        found = [d for d in documents.versions(session, obligation_id, kind) if d.id == document_id]
        if not found:
            raise NotFound(f"no {kind} document {document_id} for obligation {obligation_id}")
        return statements.Text(title=found[0].title, body=found[0].body)


@task(**REGISTER)
def notes_per_state(notes: Mapping[str, Mapping[str, str]]) -> dict[str, Mapping[str, str]]:
    """The note for each active Member State written to in another language than English."""
    with session_scope() as session:
        return {
            recipient.ref.upper(): notes[recipient.language]
            for recipient in member_state_recipients(session)
            if recipient.language != "en" and recipient.language in notes
        }


@task(**REGISTER)
def advance(obligation_id: int, percent: int) -> None:
    """Move the obligation's progress bar forward (never back)."""
    with session_scope() as session:
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise NotFound(f"no obligation {obligation_id}")
        obligations.set_progress(session, obligation, percent)
