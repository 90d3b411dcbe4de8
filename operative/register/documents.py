"""Drafts that flows write and people approve: every version kept."""

from __future__ import annotations

from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.models import Document


def draft(
    session: Session,
    *,
    obligation_id: int,
    kind: str,
    cycle: int,
    version: int,
    title: str,
    body: str,
    drafted_by: str,
    note: str | None = None,
) -> Document:
    """Store a version of a document (once: the same version again returns the first)."""
    existing = session.exec(
        select(Document).where(
            Document.obligation_id == obligation_id,
            Document.kind == kind,
            Document.cycle == cycle,
            Document.version == version,
        )
    ).first()
    if existing is not None:
        return existing
    return audit.write(
        session,
        Document(
            obligation_id=obligation_id,
            kind=kind,
            cycle=cycle,
            version=version,
            title=title,
            body=body,
            drafted_by=drafted_by,
            note=note,
            created_at=clock.now(),
        ),
        actor=drafted_by,
        kind="document.drafted",
        event=lambda document: (
            f"obligation:{obligation_id}",
            {"document": document.id, "kind": kind, "cycle": cycle, "version": version},
        ),
    )


def versions(session: Session, obligation_id: int, kind: str | None = None) -> list[Document]:
    """Every version of an obligation's documents, oldest first."""
    query = select(Document).where(Document.obligation_id == obligation_id)
    if kind:
        query = query.where(Document.kind == kind)
    return list(session.exec(query.order_by(col(Document.id))))
