"""Tasks over what officers log and what the engagement, statement and tracking playbooks
write: activities and their cadence, facts recorded once, drafted texts, and notes per language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task

from operative.core.db import session_scope
from operative.models import Obligation
from operative.notify.recipients import member_state_recipients
from operative.playbooks import statements
from operative.register import documents, obligations, records, steps
from tasks import REGISTER


@task(**REGISTER)
def engagement(
    obligation_id: int, info: dict[str, Any], since: dt.date, until: dt.date, weeks: int
) -> dict[str, Any]:
    """The activities of a period, each lapse of cadence with its alert, and the report text."""
    source = statements.Source.from_info(info)
    with session_scope() as session:
        record = records.engagement(session, obligation_id, since=since, until=until, weeks=weeks)
        report = statements.engagement_report(source, record)
        return {
            "activities": len(record.activities),
            "with_migrants": record.with_migrants,
            "lapses": [
                {
                    "start": gap.start.isoformat(),
                    "end": gap.end.isoformat(),
                    "days": gap.days,
                    "open": record.is_open(gap),
                    # One alert per lapse: a lapse is known by the day it started.
                    "cycle": gap.start.toordinal(),
                    "alert": statements.lapse_alert(
                        source, gap, weeks=weeks, still_open=record.is_open(gap)
                    ),
                }
                for gap in record.lapses
            ],
            "report": {"title": report.title, "body": report.body},
        }


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
) -> dict[str, Any]:
    """Record a fact as a flow step: once, with the step, in one transaction."""
    with session_scope() as session:
        done = steps.find(session, obligation_id, step)
        if done is not None:
            return dict(done.result)
        record = records.add_record(
            session, obligation_id, kind=kind, text=text, actor=actor, occurred_at=occurred_at
        )
        return dict(steps.record(session, obligation_id, step, result={"record": record.id}).result)


@task(**REGISTER)
def facts(obligation_id: int) -> dict[str, Any]:
    """The obligation's kind and the facts recorded against it, by kind, oldest first."""
    with session_scope() as session:
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise LookupError(f"no obligation {obligation_id}")
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for record in records.records(session, obligation_id):
            by_kind.setdefault(record.kind, []).append(
                {"id": record.id, "text": record.text, "reference": record.reference}
            )
        return {"kind": obligation.kind, "records": by_kind}


@task(**REGISTER)
def document_text(obligation_id: int, kind: str, document_id: int) -> dict[str, str]:
    """The title and body of a stored draft, exactly as it was approved."""
    with session_scope() as session:
        found = [d for d in documents.versions(session, obligation_id, kind) if d.id == document_id]
        if not found:
            raise LookupError(f"no {kind} document {document_id} for obligation {obligation_id}")
        return {"title": found[0].title, "body": found[0].body}


@task(**REGISTER)
def notes_per_state(notes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
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
            raise LookupError(f"no obligation {obligation_id}")
        obligations.set_progress(session, obligation, percent)
