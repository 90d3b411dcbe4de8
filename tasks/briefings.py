"""Tasks over briefings to Member States (1244 OP1): compile, read back the approved text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from prefect import task

from operative.core.db import session_scope
from operative.core.settings import get_settings
from operative.errors import NotFound
from operative.models import Document
from operative.playbooks import inform_member_states as briefings
from operative.playbooks.statements import Text
from tasks import REGISTER
from tasks.notify import PerState


@dataclass(frozen=True)
class ApprovedBriefing:
    """What an approved briefing says, with each state's version in its own language."""

    as_of: dt.datetime
    items: int
    topic: str
    per_state: PerState


@dataclass(frozen=True)
class Cycles:
    """One row per cycle worked on, and the cycles in Markdown."""

    rows: list[dict[str, Any]]
    markdown: str

    def last_sent(self) -> int:
        """The last cycle whose briefing was sent (-1: none yet)."""
        return max((row["cycle"] for row in self.rows if row["sent"]), default=-1)


@task(**REGISTER)
def compile_briefing(
    resolution_id: int, cycle: int, as_of: dt.datetime, note: str | None = None
) -> Text:
    """The title and three-language body of a cycle's briefing on every obligation."""
    with session_scope() as session:
        briefing = briefings.compile_briefing(session, resolution_id, cycle=cycle, as_of=as_of)
    title, body = briefings.document(briefing, tz=get_settings().timezone, note=note)
    return Text(title=title, body=body)


@task(**REGISTER)
def approved_briefing(document_id: int, number: str) -> ApprovedBriefing:
    """What an approved briefing says, with each state's version in its own language."""
    with session_scope() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"no document {document_id}")
        approved = briefings.read_document(document.body)
        languages = briefings.state_languages(session)
    topics = {language: briefings.topic(number, language) for language in approved.texts}
    return ApprovedBriefing(
        as_of=approved.as_of,
        items=approved.items,
        topic=topics["en"],
        per_state={
            code: {"summary": approved.texts[language], "topic": topics[language]}
            for code, language in languages.items()
        },
    )


@task(**REGISTER)
def briefing_cycles(obligation_id: int, plan: briefings.Schedule) -> Cycles:
    """One row per cycle worked on, and the cycles in Markdown."""
    with session_scope() as session:
        rows = briefings.cycle_rows(session, obligation_id, plan)
    return Cycles(rows=rows, markdown=briefings.cycles_markdown(rows, plan))
