"""Putting a parsed resolution into the register: its paragraphs and the obligations they imply.

Ingesting is idempotent: the same resolution (by body and number) with the same content
changes nothing. A changed text is refused unless ``replace`` is given; a replacement keeps
the rows, obligations and history of unchanged paragraphs, re-derives the obligations of
changed ones that have not started, and cancels those of paragraphs that are gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, select

from operative.core import audit
from operative.models import (
    Obligation,
    ObligationStatus,
    Paragraph,
    ParagraphKind,
    Resolution,
    utcnow,
)
from operative.register.obligations import (
    ConfigError,
    PlaybookConfig,
    derive,
    due_instant,
    load_playbooks,
    transition,
)
from operative.resolution import Paragraph as ParsedParagraph
from operative.resolution import ParsedResolution, SubParagraph


class IngestConflict(ValueError):
    """The resolution is already registered with a different text."""


@dataclass
class IngestResult:
    resolution: Resolution
    outcome: str  # "created" | "unchanged" | "replaced"
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)


def sidecar_dates(source: Path) -> dict[str, dt.date]:
    """Key dates from ``<name>.yaml`` beside a resolution file, if there is one."""
    sidecar = source.with_suffix(".yaml")
    if not sidecar.is_file():
        return {}
    try:
        raw = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{sidecar}: not valid YAML") from None
    dates = raw.get("dates", {}) if isinstance(raw, dict) else None
    if not isinstance(dates, dict):
        raise ConfigError(f"{sidecar}: dates: must be a mapping of name to YYYY-MM-DD")
    return {
        str(name): parse_date(value, f"{sidecar}: dates.{name}") for name, value in dates.items()
    }


def parse_date(value: Any, where: str) -> dt.date:
    """A date from YAML or the command line, or a ValueError naming ``where``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: not a date (YYYY-MM-DD): {value!r}") from None


def _subparagraphs_json(items: tuple[SubParagraph, ...]) -> list[dict[str, Any]]:
    return [
        {
            "num": item.num,
            "eid": item.eid,
            "text": item.text,
            "subparagraphs": _subparagraphs_json(item.subparagraphs),
        }
        for item in items
    ]


def _paragraph_fields(parsed: ParsedParagraph, position: int) -> dict[str, Any]:
    return {
        "kind": ParagraphKind(parsed.kind),
        "position": position,
        "num": parsed.num,
        "eid": parsed.eid,
        "verb": parsed.verb,
        "verb_text": parsed.verb_text,
        "addressee": parsed.addressee,
        "text": parsed.text,
        "subparagraphs": _subparagraphs_json(parsed.subparagraphs),
    }


def _same(row: Paragraph, fields: dict[str, Any]) -> bool:
    return all(getattr(row, name) == value for name, value in fields.items() if name != "position")


def _new_obligation(
    paragraph: Paragraph, config: PlaybookConfig, dates: dict[str, dt.date]
) -> Obligation:
    derived = derive(
        config,
        verb=paragraph.verb,
        addressee=paragraph.addressee,
        text=paragraph.text,
        dates=dates,
    )
    now = utcnow()
    assert paragraph.id is not None
    return Obligation(
        paragraph_id=paragraph.id,
        playbook=derived.playbook,
        rule=derived.rule,
        kind=derived.kind,
        actor_role=derived.actor_role,
        actor=derived.actor,
        due_at=due_instant(derived.due_on),
        created_at=now,
        updated_at=now,
    )


def _rederive(
    obligation: Obligation, paragraph: Paragraph, config: PlaybookConfig, dates: dict[str, dt.date]
) -> None:
    fresh = _new_obligation(paragraph, config, dates)
    if not obligation.reassigned:
        obligation.playbook, obligation.rule = fresh.playbook, fresh.rule
    obligation.kind, obligation.actor_role, obligation.actor = (
        fresh.kind,
        fresh.actor_role,
        fresh.actor,
    )
    obligation.due_at = fresh.due_at
    obligation.updated_at = utcnow()


def ingest(
    session: Session,
    parsed: ParsedResolution,
    *,
    source_name: str,
    source_text: str,
    dates: dict[str, dt.date] | None = None,
    replace: bool = False,
    actor: str = "cli",
) -> IngestResult:
    """Register ``parsed`` (see the module docstring for what happens when it is known)."""
    config = load_playbooks()
    existing = session.exec(
        select(Resolution).where(Resolution.body == parsed.body, Resolution.number == parsed.number)
    ).first()
    # Dates given now add to (or correct) those already known; leaving one out keeps it.
    key_dates = {
        name: dt.date.fromisoformat(day)
        for name, day in (existing.key_dates if existing else {}).items()
    }
    key_dates.update(dates or {})
    if parsed.adopted_on:
        key_dates["adopted"] = parsed.adopted_on
    stored_dates = {name: day.isoformat() for name, day in sorted(key_dates.items())}
    if existing is not None:
        if existing.content_hash == parsed.content_hash and existing.key_dates == stored_dates:
            return IngestResult(existing, "unchanged")
        if not replace:
            if existing.content_hash == parsed.content_hash:
                changed = sorted(
                    name
                    for name in {*existing.key_dates, *stored_dates}
                    if existing.key_dates.get(name) != stored_dates.get(name)
                )
                raise IngestConflict(
                    f"{parsed.body} resolution {parsed.number} is registered with other key "
                    f"dates ({', '.join(changed)}); use --replace to move its deadlines"
                )
            raise IngestConflict(
                f"{parsed.body} resolution {parsed.number} is already registered with a "
                "different text; use --replace to update it"
            )
    dates_moved = existing is not None and existing.key_dates != stored_dates

    now = utcnow()
    fields: dict[str, Any] = {
        "body": parsed.body,
        "number": parsed.number,
        "session": parsed.session,
        "session_roman": parsed.session_roman,
        "meeting": parsed.meeting,
        "symbol": parsed.symbol,
        "adopted_on": parsed.adopted_on,
        "title": parsed.title,
        "language": parsed.language,
        "preamble_intro": parsed.preamble_intro,
        "operative_intro": parsed.operative_intro,
        "content_hash": parsed.content_hash,
        "work_uri": parsed.work_uri,
        "expression_uri": parsed.expression_uri,
        "source_name": source_name,
        "source_text": source_text,
        "key_dates": stored_dates,
        "updated_at": now,
    }
    if existing is None:
        resolution = Resolution.model_validate({**fields, "ingested_at": now})
    else:
        resolution = existing
        for name, value in fields.items():
            setattr(resolution, name, value)
    session.add(resolution)
    session.flush()
    assert resolution.id is not None

    result = IngestResult(resolution, "replaced" if existing else "created")
    rows = {
        row.eid: row
        for row in session.exec(select(Paragraph).where(Paragraph.resolution_id == resolution.id))
    }
    seen: set[str] = set()
    for position, parsed_paragraph in enumerate((*parsed.preambular, *parsed.operative)):
        fields = _paragraph_fields(parsed_paragraph, position)
        seen.add(parsed_paragraph.eid)
        row = rows.get(parsed_paragraph.eid)
        if row is not None and _same(row, fields) and row.withdrawn_at is None:
            row.position = position
            session.add(row)
            if dates_moved and row.kind == ParagraphKind.operative:
                # Same text, new key dates: deadlines of work not yet started follow them.
                obligation = session.exec(
                    select(Obligation).where(Obligation.paragraph_id == row.id)
                ).first()
                if obligation is not None and obligation.status == ObligationStatus.planned:
                    _rederive(obligation, row, config, key_dates)
                    session.add(obligation)
            continue
        if row is None:
            row = Paragraph(resolution_id=resolution.id, **fields)
            session.add(row)
            session.flush()
            if existing:
                result.added.append(row.eid)
            if row.kind == ParagraphKind.operative:
                session.add(_new_obligation(row, config, key_dates))
            continue
        for name, value in fields.items():
            setattr(row, name, value)
        row.withdrawn_at = None
        session.add(row)
        result.changed.append(row.eid)
        obligation = session.exec(
            select(Obligation).where(Obligation.paragraph_id == row.id)
        ).first()
        if obligation is None and row.kind == ParagraphKind.operative:
            session.add(_new_obligation(row, config, key_dates))
        elif obligation is not None and obligation.status == ObligationStatus.planned:
            _rederive(obligation, row, config, key_dates)
            session.add(obligation)

    for eid, row in rows.items():
        if eid in seen or row.withdrawn_at is not None:
            continue
        row.withdrawn_at = now
        session.add(row)
        result.withdrawn.append(eid)
        obligation = session.exec(
            select(Obligation).where(Obligation.paragraph_id == row.id)
        ).first()
        if obligation is not None and obligation.status not in {
            ObligationStatus.done,
            ObligationStatus.cancelled,
        }:
            transition(
                session,
                obligation,
                ObligationStatus.cancelled,
                actor=actor,
                note=f"paragraph {row.num} withdrawn by a replaced text",
            )

    session.flush()
    audit.append(
        session,
        actor=actor,
        kind=f"resolution.{result.outcome}",
        subject=f"resolution:{resolution.id}",
        payload={
            "body": resolution.body,
            "number": resolution.number,
            "source": source_name,
            "content_hash": resolution.content_hash,
            "changed": result.changed,
            "added": result.added,
            "withdrawn": result.withdrawn,
        },
    )
    return result


def resolution_document(session: Session, resolution: Resolution) -> dict[str, Any]:
    """The JSON shape of DESIGN §6 for a registered resolution."""
    paragraphs = session.exec(
        select(Paragraph)
        .where(Paragraph.resolution_id == resolution.id, col(Paragraph.withdrawn_at).is_(None))
        .order_by(col(Paragraph.position))
    ).all()
    obligations = {
        obligation.paragraph_id: obligation
        for obligation in session.exec(
            select(Obligation).where(col(Obligation.paragraph_id).in_([p.id for p in paragraphs]))
        )
    }
    operative = [p for p in paragraphs if p.kind == ParagraphKind.operative]
    return {
        "resolution": {
            "id": resolution.id,
            "body": resolution.body,
            "number": resolution.number,
            "session": resolution.session,
            "session_roman": resolution.session_roman,
            "meeting": resolution.meeting,
            "symbol": resolution.symbol,
            "adopted_on": resolution.adopted_on.isoformat() if resolution.adopted_on else None,
            "title": resolution.title,
            "language": resolution.language,
            "work_uri": resolution.work_uri,
            "expression_uri": resolution.expression_uri,
            "content_hash": resolution.content_hash,
            "key_dates": resolution.key_dates,
        },
        "preambular": [
            {"num": p.num, "verb": p.verb, "text": p.text}
            for p in paragraphs
            if p.kind == ParagraphKind.preambular
        ],
        "operative": [
            {
                "num": p.num,
                "eid": p.eid,
                "verb": p.verb,
                "verb_text": p.verb_text,
                "addressee": p.addressee,
                "text": p.text,
                "subparagraphs": p.subparagraphs,
            }
            for p in operative
        ],
        "obligations": [
            {
                "id": obligations[p.id].id,
                "paragraph": p.num,
                "playbook": obligations[p.id].playbook,
                "kind": obligations[p.id].kind,
                "actor": obligations[p.id].actor,
                "actor_role": obligations[p.id].actor_role,
                "due_at": _iso(obligations[p.id].due_at),
                "status": obligations[p.id].status,
            }
            for p in operative
            if p.id in obligations
        ],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
