"""Tasks that write documents: drafts of letters, statements and briefings."""

from __future__ import annotations

from prefect import task

from operative.core.db import session_scope
from operative.register import documents
from tasks import REGISTER


@task(**REGISTER)
def draft_document(
    obligation_id: int,
    kind: str,
    cycle: int,
    version: int,
    title: str,
    body: str,
    drafted_by: str,
    note: str | None = None,
) -> int:
    """Store one version of a draft (idempotent) and return its id."""
    with session_scope() as session:
        document = documents.draft(
            session,
            obligation_id=obligation_id,
            kind=kind,
            cycle=cycle,
            version=version,
            title=title,
            body=body,
            drafted_by=drafted_by,
            note=note,
        )
        assert document.id is not None
        return document.id
