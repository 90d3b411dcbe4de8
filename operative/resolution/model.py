"""The parsed form of a resolution, its content hash and its parse error.

A ``ParsedResolution`` is the one shape every reader produces (plain text, Markdown, Akoma Ntoso)
and every writer consumes. It holds what the resolution *says*, never where it was read from:
the file name travels in ``ResolutionParseError.source`` only, so the same resolution read from
two places, or written to Akoma Ntoso and read back, compares equal and has the same hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from operative.errors import Invalid
from operative.resolution import naming


class ResolutionParseError(Invalid):
    """A resolution could not be read: where (source and 1-based line, if known) and why."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        # One line whatever the input: file names and library messages may carry newlines.
        source = " ".join(self.source.split()) or "<unnamed>"
        reason = " ".join(self.reason.split())
        if self.line is None:
            return f"{source}: {reason}"
        return f"{source}:{self.line}: {reason}"

    def __reduce__(self) -> tuple[type[ResolutionParseError], tuple[str, int | None, str]]:
        # ValueError pickles only its message; Prefect ships exceptions between processes.
        return (type(self), (self.source, self.line, self.reason))


@dataclass(frozen=True, slots=True)
class SubParagraph:
    """A numbered sub-paragraph such as "(a)" or "(ii)", with its own sub-paragraphs."""

    num: str
    eid: str
    text: str
    subparagraphs: tuple[SubParagraph, ...] = ()


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A preambular or operative paragraph; ``text`` excludes its sub-paragraphs."""

    kind: Literal["preambular", "operative"]
    num: str
    eid: str
    verb: str | None
    verb_text: str | None
    addressee: str | None
    text: str
    subparagraphs: tuple[SubParagraph, ...] = ()


@dataclass(frozen=True, slots=True)
class Header:
    """What a resolution's header says: who adopted it, its number, session, meeting, date."""

    body: str
    number: str
    session: int | None
    session_roman: str | None
    meeting: int | None
    adopted_on: dt.date | None
    title: str
    symbol: str | None


@dataclass(frozen=True, slots=True)
class ParsedResolution(Header):
    """A resolution as adopted: its header, its language, preamble and operative part."""

    language: str
    preamble_intro: str | None
    operative_intro: str | None
    preambular: tuple[Paragraph, ...]
    operative: tuple[Paragraph, ...]

    @property
    def content_hash(self) -> str:
        """SHA-256 over the fields, not the bytes: re-wrapping or an AKN round trip keep it."""
        canonical = json.dumps(
            asdict(self),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=_json_value,
        )
        # surrogatepass: a hand-built instance may hold lone surrogates; hashing must not fail.
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def work_uri(self) -> str:
        """The AKN4UN Work IRI, e.g. /akn/un/statement/deliberation/iom-council/2012-11-27/1244."""
        return naming.work_uri(self.body, self.adopted_on, self.number)

    @property
    def expression_uri(self) -> str:
        """The Expression IRI: the Work in this language, e.g. ``…/1244/eng@``."""
        return naming.expression_uri(self.work_uri, self.language)

    @property
    def manifestation_uri(self) -> str:
        """The Manifestation IRI of the Akoma Ntoso XML form, e.g. ``…/1244/eng@.akn``."""
        return naming.manifestation_uri(self.expression_uri)


def _json_value(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def check_numbering(numbers: Iterable[tuple[int, int | None]], source: str) -> None:
    """Operative paragraphs run 1, 2, 3…: report the first duplicate or gap at its line."""
    seen: set[int] = set()
    previous = 0
    for number, line in numbers:
        if number in seen:
            raise ResolutionParseError(source, line, f"duplicate paragraph number {number}")
        if number != previous + 1:
            if number > previous + 1:
                reason = (
                    f"paragraph {number} follows {previous}: paragraph {previous + 1} is missing"
                )
                if previous == 0:
                    reason = f"the first paragraph is numbered {number}: paragraph 1 is missing"
            else:
                reason = f"paragraph {number} follows {previous}: paragraphs are out of order"
            raise ResolutionParseError(source, line, reason)
        seen.add(number)
        previous = number
