"""Putting a parsed resolution into the register: its paragraphs and the obligations they imply.

Ingesting is idempotent: the same resolution (by body and number) with the same content
changes nothing. A changed text is refused unless ``replace`` is given; a replacement keeps
the rows, obligations and history of unchanged paragraphs, re-derives the obligations of
changed ones that have not started, and cancels those of paragraphs that are gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.errors import Conflict, Invalid
from operative.models import (
    FINISHED,
    Obligation,
    ObligationStatus,
    Paragraph,
    ParagraphKind,
    Resolution,
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
from operative.resolution import ParsedResolution, SubParagraph, parse_file


class IngestConflict(Conflict):
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
    """A date from YAML or the command line, or an ``Invalid`` naming ``where``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{where}: not a date (YYYY-MM-DD): {value!r}") from None


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


def _derived(
    paragraph: Paragraph, config: PlaybookConfig, dates: dict[str, dt.date]
) -> dict[str, Any]:
    """The obligation fields an operative paragraph implies under the playbooks and key dates."""
    derived = asdict(
        derive(
            config,
            verb=paragraph.verb,
            addressee=paragraph.addressee,
            text=paragraph.text,
            dates=dates,
        )
    )
    derived["due_at"] = due_instant(derived.pop("due_on"))
    return derived


def _new_obligation(
    paragraph: Paragraph, config: PlaybookConfig, dates: dict[str, dt.date]
) -> Obligation:
    """The obligation a newly registered operative paragraph starts with."""
    fields = _derived(paragraph, config, dates)
    now = clock.now()
    assert paragraph.id is not None
    return Obligation(paragraph_id=paragraph.id, **fields, created_at=now, updated_at=now)


def _rederive(
    obligation: Obligation, paragraph: Paragraph, config: PlaybookConfig, dates: dict[str, dt.date]
) -> None:
    """Derive again what an obligation's paragraph implies; a reassignment keeps its playbook."""
    fresh = _derived(paragraph, config, dates)
    if obligation.reassigned:
        del fresh["playbook"], fresh["rule"]
    for name, value in fresh.items():
        setattr(obligation, name, value)
    obligation.updated_at = clock.now()


@dataclass(frozen=True)
class _Ingest:
    """What every step of one ingest shares."""

    session: Session
    config: PlaybookConfig
    key_dates: dict[str, dt.date]
    actor: str
    now: dt.datetime
    result: IngestResult


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
    existing = _registered(session, parsed)
    key_dates = _key_dates(existing, parsed, dates or {})
    stored_dates = {name: day.isoformat() for name, day in sorted(key_dates.items())}
    if existing is not None:
        if existing.content_hash == parsed.content_hash and existing.key_dates == stored_dates:
            return IngestResult(existing, "unchanged")
        if not replace:
            raise _conflict(existing, parsed, stored_dates)
    dates_moved = existing is not None and existing.key_dates != stored_dates
    now = clock.now()
    resolution = _write_resolution(
        session,
        existing,
        _resolution_fields(parsed, source_name, source_text, stored_dates, now),
    )
    job = _Ingest(
        session,
        config,
        key_dates,
        actor,
        now,
        IngestResult(resolution, "replaced" if existing else "created"),
    )
    rows = _paragraph_rows(session, resolution)
    _write_paragraphs(job, parsed, rows, replacing=existing is not None, dates_moved=dates_moved)
    _withdraw_missing(job, parsed, rows)
    session.flush()
    _audit(job, source_name)
    return job.result


def _registered(session: Session, parsed: ParsedResolution) -> Resolution | None:
    """The registered resolution of the same body and number, if there is one."""
    return session.exec(
        select(Resolution).where(Resolution.body == parsed.body, Resolution.number == parsed.number)
    ).first()


def _key_dates(
    existing: Resolution | None, parsed: ParsedResolution, given: dict[str, dt.date]
) -> dict[str, dt.date]:
    """The key dates deadlines are set from: those known, then those given, then adoption."""
    # Dates given now add to (or correct) those already known; leaving one out keeps it.
    key_dates = {
        name: dt.date.fromisoformat(day)
        for name, day in (existing.key_dates if existing else {}).items()
    }
    key_dates.update(given)
    if parsed.adopted_on:
        key_dates["adopted"] = parsed.adopted_on
    return key_dates


def _conflict(
    existing: Resolution, parsed: ParsedResolution, stored_dates: dict[str, str]
) -> IngestConflict:
    """Why a changed resolution is refused without ``replace``: other key dates or another text."""
    if existing.content_hash == parsed.content_hash:
        changed = sorted(
            name
            for name in {*existing.key_dates, *stored_dates}
            if existing.key_dates.get(name) != stored_dates.get(name)
        )
        return IngestConflict(
            f"{parsed.body} resolution {parsed.number} is registered with other key "
            f"dates ({', '.join(changed)}); use --replace to move its deadlines"
        )
    return IngestConflict(
        f"{parsed.body} resolution {parsed.number} is already registered with a "
        "different text; use --replace to update it"
    )


# What a registered resolution keeps as parsed; the header's part is also what its document shows.
_HEADER = ("body", "number", "session", "session_roman", "meeting", "symbol", "adopted_on")
_COPIED = (
    *_HEADER,
    "title",
    "language",
    "preamble_intro",
    "operative_intro",
    "content_hash",
    "work_uri",
    "expression_uri",
)


def _resolution_fields(
    parsed: ParsedResolution,
    source_name: str,
    source_text: str,
    stored_dates: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    """The resolution row's columns for ``parsed`` read from ``source_name``."""
    return {
        **{name: getattr(parsed, name) for name in _COPIED},
        "source_name": source_name,
        "source_text": source_text,
        "key_dates": stored_dates,
        "updated_at": now,
    }


def _write_resolution(
    session: Session, existing: Resolution | None, fields: dict[str, Any]
) -> Resolution:
    """Insert the resolution row, or update the registered one, and give it its id."""
    if existing is None:
        resolution = Resolution.model_validate({**fields, "ingested_at": fields["updated_at"]})
    else:
        resolution = existing
        for name, value in fields.items():
            setattr(resolution, name, value)
    session.add(resolution)
    session.flush()
    assert resolution.id is not None
    return resolution


def _paragraph_rows(session: Session, resolution: Resolution) -> dict[str, Paragraph]:
    """The registered paragraphs of a resolution (withdrawn ones too), by eId."""
    return {
        row.eid: row
        for row in session.exec(select(Paragraph).where(Paragraph.resolution_id == resolution.id))
    }


def _obligation_of(session: Session, row: Paragraph) -> Obligation | None:
    """The obligation a paragraph implies, if one was derived."""
    return session.exec(select(Obligation).where(Obligation.paragraph_id == row.id)).first()


def _write_paragraphs(
    job: _Ingest,
    parsed: ParsedResolution,
    rows: dict[str, Paragraph],
    *,
    replacing: bool,
    dates_moved: bool,
) -> None:
    """Keep, add or update a row for each paragraph of the text, in the text's order."""
    for position, parsed_paragraph in enumerate((*parsed.preambular, *parsed.operative)):
        fields = _paragraph_fields(parsed_paragraph, position)
        row = rows.get(parsed_paragraph.eid)
        if row is None:
            _add_paragraph(job, fields, replacing=replacing)
        elif _same(row, fields) and row.withdrawn_at is None:
            _keep_paragraph(job, row, position, dates_moved=dates_moved)
        else:
            _update_paragraph(job, row, fields)


def _keep_paragraph(job: _Ingest, row: Paragraph, position: int, *, dates_moved: bool) -> None:
    """An unchanged paragraph keeps its row and history, at its place in the new text."""
    row.position = position
    job.session.add(row)
    if dates_moved and row.kind == ParagraphKind.operative:
        # Same text, new key dates: deadlines of work not yet started follow them.
        _rederive_planned(job, row, _obligation_of(job.session, row))


def _add_paragraph(job: _Ingest, fields: dict[str, Any], *, replacing: bool) -> None:
    """A paragraph new to the register, with the obligation it implies."""
    assert job.result.resolution.id is not None
    row = Paragraph(resolution_id=job.result.resolution.id, **fields)
    job.session.add(row)
    job.session.flush()
    if replacing:
        job.result.added.append(row.eid)
    if row.kind == ParagraphKind.operative:
        job.session.add(_new_obligation(row, job.config, job.key_dates))


def _update_paragraph(job: _Ingest, row: Paragraph, fields: dict[str, Any]) -> None:
    """A changed (or withdrawn and now restored) paragraph takes the new text."""
    for name, value in fields.items():
        setattr(row, name, value)
    row.withdrawn_at = None
    job.session.add(row)
    job.result.changed.append(row.eid)
    obligation = _obligation_of(job.session, row)
    if obligation is None and row.kind == ParagraphKind.operative:
        job.session.add(_new_obligation(row, job.config, job.key_dates))
    else:
        _rederive_planned(job, row, obligation)


def _rederive_planned(job: _Ingest, row: Paragraph, obligation: Obligation | None) -> None:
    """Derive a paragraph's obligation again if its work has not started."""
    if obligation is not None and obligation.status == ObligationStatus.planned:
        _rederive(obligation, row, job.config, job.key_dates)
        job.session.add(obligation)


def _withdraw_missing(job: _Ingest, parsed: ParsedResolution, rows: dict[str, Paragraph]) -> None:
    """Withdraw the registered paragraphs the text no longer has, cancelling their open work."""
    seen = {paragraph.eid for paragraph in (*parsed.preambular, *parsed.operative)}
    for eid, row in rows.items():
        if eid in seen or row.withdrawn_at is not None:
            continue
        row.withdrawn_at = job.now
        job.session.add(row)
        job.result.withdrawn.append(eid)
        obligation = _obligation_of(job.session, row)
        if obligation is not None and obligation.status not in FINISHED:
            transition(
                job.session,
                obligation,
                ObligationStatus.cancelled,
                actor=job.actor,
                note=f"paragraph {row.num} withdrawn by a replaced text",
            )


def _audit(job: _Ingest, source_name: str) -> None:
    """One audit event for the whole ingest, naming the paragraphs it changed."""
    result = job.result
    audit.append(
        job.session,
        actor=job.actor,
        kind=f"resolution.{result.outcome}",
        subject=f"resolution:{result.resolution.id}",
        payload={
            "body": result.resolution.body,
            "number": result.resolution.number,
            "source": source_name,
            "content_hash": result.resolution.content_hash,
            "changed": result.changed,
            "added": result.added,
            "withdrawn": result.withdrawn,
        },
    )


def ingest_file(session: Session, path: Path, *, actor: str = "cli") -> IngestResult:
    """Register the resolution in the UTF-8 file ``path``, with the key dates of its sidecar:
    how the demo (and the tests) put a shipped resolution into a fresh register."""
    return ingest(
        session,
        parse_file(path),
        source_name=path.name,
        source_text=path.read_text(encoding="utf-8"),
        dates=sidecar_dates(path),
        actor=actor,
    )


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
        "resolution": _resolution_json(resolution),
        "preambular": [
            {"num": p.num, "verb": p.verb, "text": p.text}
            for p in paragraphs
            if p.kind == ParagraphKind.preambular
        ],
        "operative": [_operative_json(p) for p in operative],
        "obligations": [
            _obligation_json(p, obligations[p.id]) for p in operative if p.id in obligations
        ],
    }


# The columns a document shows as stored, in the document's order.
_RESOLUTION_JSON = (
    "id",
    *_HEADER,
    "title",
    "language",
    "work_uri",
    "expression_uri",
    "content_hash",
    "key_dates",
)
_OPERATIVE_JSON = ("num", "eid", "verb", "verb_text", "addressee", "text", "subparagraphs")
_OBLIGATION_JSON = ("playbook", "kind", "actor", "actor_role")


def _resolution_json(resolution: Resolution) -> dict[str, Any]:
    """The resolution's own fields in the document."""
    document = {name: getattr(resolution, name) for name in _RESOLUTION_JSON}
    document["adopted_on"] = resolution.adopted_on.isoformat() if resolution.adopted_on else None
    return document


def _operative_json(paragraph: Paragraph) -> dict[str, Any]:
    """An operative paragraph in the document."""
    return {name: getattr(paragraph, name) for name in _OPERATIVE_JSON}


def _obligation_json(paragraph: Paragraph, obligation: Obligation) -> dict[str, Any]:
    """The obligation of an operative paragraph in the document."""
    return {
        "id": obligation.id,
        "paragraph": paragraph.num,
        **{name: getattr(obligation, name) for name in _OBLIGATION_JSON},
        "due_at": _iso(obligation.due_at),
        "status": obligation.status,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
