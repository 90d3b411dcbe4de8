"""Reading a resolution from plain text or Markdown (and routing Akoma Ntoso XML to its reader).

The text is read line by line into *units*: a header block, the preamble's intro ("The
Council,"), preambular paragraphs, the operative intro ("Resolves to:"), numbered operative
paragraphs and their sub-paragraphs. A unit starts at a blank line or at a line that can only
open one: "3." opens an operative paragraph, "(a)" or "a)" a sub-paragraph, a capitalised
participle ("Recalling", "Prenant note") a preambular paragraph. Any other line continues the
unit above it, which is how wrapped paragraphs are joined. Line numbers are kept so that errors
point at the line of the original file.
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Literal

from operative.resolution import markup, naming
from operative.resolution.akn import from_akn
from operative.resolution.header import Line, read_header, roman_to_int
from operative.resolution.lexicon import (
    detect_language,
    find_addressee,
    match_verb,
    opens_preambular_paragraph,
)
from operative.resolution.model import (
    Paragraph,
    ParsedResolution,
    ResolutionParseError,
    SubParagraph,
    check_numbering,
)

_OPERATIVE = re.compile(r"^[*_]*(\d{1,3})\\?\.[*_]*\s+(?=\S)")
_MARKER = r"\(?([a-z]{1,2}|[ivxlc]{1,6})\)"
_SUB_LINE = re.compile(rf"^[*_]*{_MARKER}[*_]*\s+(?=\S)")
# Sub-paragraphs run into the text after a colon: "…as follows: (a) To…; (b) To…".
_SUB_INLINE = re.compile(rf"([:;])(?:\s+(?:and|or|et|ou|y|o|u))?\s+{_MARKER}\s+(?=\S)")
_INTRO = re.compile(r"^(?:(?:The|Le|La|Les|El|Los|Las)\s+|L['\u2019])\S[^,]{0,60},$")
_OPERATIVE_INTRO = re.compile(
    r"^(?:Resolves|Resolve|Decides|Decide|Décide|Résout|Resuelve)\b[^.]{0,30}:$"
)
# Characters no text file holds (C0 controls but tab, line and page breaks; lone surrogates;
# the two non-characters). XML cannot carry them either.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_START = re.compile(r"\s*<(?:\?xml\b|(?:[\w.-]+:)?akomaNtoso\b)")
_XML_BYTES = re.compile(rb"(?:\xef\xbb\xbf)?\s*<(?:\?xml\b|(?:[\w.-]+:)?akomaNtoso\b)")
_MAX_DEPTH = 4

UnitKind = Literal["intro", "preamble", "opintro", "operative", "sub", "heading", "plain"]


@dataclass
class _Unit:
    kind: UnitKind
    lines: list[Line]
    number: int | None = None
    marker: str | None = None
    after_blank: bool = False
    open_bold: bool = False  # an odd number of "**" so far: a bold title spans lines

    @property
    def line(self) -> int:
        return self.lines[0][0]

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.open_bold ^= line[1].count("**") % 2 == 1

    def joined(self) -> str:
        parts: list[str] = []
        for _, text in self.lines:
            text = text.strip()
            # A line broken after a hyphen ("Secretary-" / "General") is one word.
            if parts and re.search(r"[^\W\d_]-$", parts[-1]):
                parts[-1] += text
            else:
                parts.append(text)
        return " ".join(parts)


@dataclass
class _Operative:
    number: int
    line: int
    units: list[_Unit]


@dataclass
class _Parts:
    """The units of a resolution, assigned to its parts in reading order."""

    header: list[_Unit] = field(default_factory=list)
    intro: str | None = None
    preamble: list[_Unit] = field(default_factory=list)
    operatives: list[_Operative] = field(default_factory=list)
    trailer: list[_Unit] = field(default_factory=list)

    def is_intro(self, unit: _Unit) -> bool:
        """Whether a unit is the intro ("The Council,"): the first, before any paragraph."""
        return (
            unit.kind == "intro"
            and self.intro is None
            and not self.preamble
            and not self.operatives
        )

    def in_preamble(self, unit: _Unit) -> bool:
        """Whether a unit before the operative part belongs to the preamble, not the header."""
        return unit.kind in {"preamble", "opintro"} or self.intro is not None or bool(self.preamble)

    def pop_operative_intro(self) -> str | None:
        """The operative intro ("Resolves to:") that ends the preamble, taken out of it."""
        if self.preamble and _is_operative_intro(
            markup.clean(self.preamble[-1].joined()), self.preamble[-1]
        ):
            return markup.clean(self.preamble.pop().joined())
        return None


# --- entry points -------------------------------------------------------------------------------


def parse_file(path: str | os.PathLike[str]) -> ParsedResolution:
    """Read and parse a resolution file; ``source`` in errors is the path as given."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ResolutionParseError(source, None, f"cannot read file: {reason}") from None
    return parse_bytes(data, source=source)


def parse_bytes(data: bytes, *, source: str) -> ParsedResolution:
    """Parse UTF-8 (with or without BOM) or BOM-marked UTF-16 text, Markdown, or AKN XML."""
    if _XML_BYTES.match(data):
        # XML says its own encoding in its declaration; the XML parser honours it.
        return from_akn(data, source=source)
    return parse_text(_decode(data, source), source=source)


def parse_text(text: str, *, source: str = "<text>") -> ParsedResolution:
    """Parse a resolution given as text (plain or Markdown; Akoma Ntoso XML is recognised)."""
    text = text.lstrip("\ufeff")
    if _XML_START.match(text):
        return from_akn(text, source=source)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    bad = _BINARY.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ResolutionParseError(
            source, line, f"binary file (control character U+{ord(bad.group()):04X})"
        )
    if not text.strip():
        raise ResolutionParseError(source, None, "empty file")
    return _Reader(text, source).read()


def _decode(data: bytes, source: str) -> str:
    if not data.strip():
        raise ResolutionParseError(source, None, "empty file")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ResolutionParseError(source, 1, "unsupported encoding UTF-32: save as UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", "replace").count("\n") + 1
            raise ResolutionParseError(source, line, "not UTF-16 text despite its BOM") from None
    nul = data.find(b"\x00")
    if nul != -1:
        raise ResolutionParseError(source, data.count(b"\n", 0, nul) + 1, "binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ResolutionParseError(
            source, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line})"
        ) from None


# --- the reader ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.split("\n")
        self.units: list[_Unit] = []

    def read(self) -> ParsedResolution:
        """The resolution: lines into units, units into parts, parts into paragraphs."""
        self._split()
        parts = self._assign()
        if not parts.operatives:
            raise ResolutionParseError(self.source, None, "no operative paragraphs found")
        check_numbering(((op.number, op.line) for op in parts.operatives), self.source)

        operative_intro = parts.pop_operative_intro()
        preamble_texts = [markup.clean(unit.joined()) for unit in parts.preamble]
        operative_parts = [self._operative_text(op) for op in parts.operatives]
        language = detect_language(
            " ".join([*preamble_texts, *(text for text, _ in operative_parts)])
        )
        head = read_header(
            [unit.lines for unit in parts.header],
            parts.intro,
            [unit.lines for unit in parts.trailer],
            self.source,
        )
        return ParsedResolution(
            **asdict(head),
            language=language,
            preamble_intro=parts.intro,
            operative_intro=operative_intro,
            preambular=tuple(
                _preambular(position, text, language)
                for position, text in enumerate(preamble_texts, start=1)
            ),
            operative=tuple(
                _operative(str(op.number), text, items, language)
                for op, (text, items) in zip(parts.operatives, operative_parts, strict=True)
            ),
        )

    def _assign(self) -> _Parts:
        """Each unit to its part: header, intro, preamble, an operative paragraph, trailer."""
        parts = _Parts()
        for unit in self.units:
            if parts.is_intro(unit):
                parts.intro = markup.clean(unit.joined())
            elif unit.kind == "operative":
                assert unit.number is not None
                parts.operatives.append(_Operative(unit.number, unit.line, [unit]))
            elif parts.operatives:
                self._operative_part(unit, parts.operatives[-1], parts.trailer)
            elif parts.in_preamble(unit):
                self._preamble_part(unit, parts.preamble)
            else:
                parts.header.append(unit)
        return parts

    # Splitting the lines into units.

    def _split(self) -> None:
        region: Literal["header", "preamble", "operative"] = "header"
        current: _Unit | None = None
        blank_before = False
        for number, raw in enumerate(self.lines, start=1):
            stripped = raw.strip()
            if not stripped:
                current, blank_before = None, True
                continue
            line = (number, raw)
            if markup.heading(stripped) is not None:
                self.units.append(_Unit("heading", [line], after_blank=blank_before))
                current, blank_before = None, False
                continue
            opened = self._opening(stripped, region, current)
            if opened is not None:
                opened.add(line)
                opened.after_blank = blank_before
                self.units.append(opened)
                # "The Council," and "Resolves to:" are one line each; the next line is new.
                current = None if opened.kind in {"intro", "opintro"} else opened
                if opened.kind == "operative":
                    region = "operative"
                elif opened.kind in {"intro", "preamble"} and region == "header":
                    region = "preamble"
            elif current is not None:
                current.add(line)
            else:
                current = _Unit("plain", [], after_blank=blank_before)
                current.add(line)
                self.units.append(current)
            blank_before = False

    def _opening(self, stripped: str, region: str, current: _Unit | None) -> _Unit | None:
        """The unit a line opens, if it can only be the first line of one."""
        operative = _OPERATIVE.match(stripped)
        if operative:
            return _Unit("operative", [], number=int(operative.group(1)))
        if region == "operative":
            sub = _SUB_LINE.match(stripped)
            return _Unit("sub", [], marker=sub.group(1)) if sub else None
        # Inside a bold title that spans lines, nothing opens.
        if current is not None and current.open_bold:
            return None
        return _prose_opening(stripped, region)

    # Assigning units to the parts of the resolution.

    def _preamble_part(self, unit: _Unit, preamble: list[_Unit]) -> None:
        if unit.kind == "heading":
            return
        # After a stray blank line, a line in lower case still belongs to the paragraph above.
        if preamble and unit.kind == "plain" and _continues(unit):
            preamble[-1].lines.extend(unit.lines)
        else:
            preamble.append(unit)

    def _operative_part(self, unit: _Unit, current: _Operative, trailer: list[_Unit]) -> None:
        if unit.kind == "sub":
            current.units.append(unit)
        elif unit.kind == "plain" and _continues(unit):
            current.units[-1].lines.extend(unit.lines)
        elif unit.kind != "heading":
            # What follows the last paragraph: UN resolutions close with the meeting and date.
            trailer.append(unit)

    def _operative_text(self, op: _Operative) -> tuple[str, list[tuple[str, str]]]:
        """A paragraph's own text and its sub-paragraphs in order, as (marker, text)."""
        first, *subs = op.units
        intro, items = _split_inline(_body(first, _OPERATIVE))
        for unit in subs:
            assert unit.marker is not None
            text, nested = _split_inline(_body(unit, _SUB_LINE))
            items.append((unit.marker, text))
            items.extend(nested)
        return intro, items


def _prose_opening(stripped: str, region: str) -> _Unit | None:
    """The unit a header or preamble line opens: the intro, the operative intro or a
    preambular paragraph."""
    text = markup.plain(stripped)
    if region == "header" and _INTRO.match(text) and len(text.split()) <= 8:
        return _Unit("intro", [])
    if region == "preamble" and _OPERATIVE_INTRO.match(text):
        return _Unit("opintro", [])
    # A bold line in the header is a title, even one that opens with "Recognizing…".
    bold_title = region == "header" and stripped[:2] in {"**", "__"}
    if not bold_title and opens_preambular_paragraph(text):
        return _Unit("preamble", [])
    return None


def _body(unit: _Unit, opening: re.Pattern[str]) -> str:
    """A unit's text without the number or marker that opened it."""
    joined = unit.joined()
    match = opening.match(joined)
    return markup.clean(joined[match.end() :] if match else joined)


def _continues(unit: _Unit) -> bool:
    first = markup.plain(unit.lines[0][1])
    return unit.after_blank and first[:1].islower()


def _is_operative_intro(text: str, unit: _Unit) -> bool:
    return unit.kind == "opintro" or (text.endswith(":") and len(text.split()) <= 6)


def _split_inline(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split "Intro: (a) One; (b) Two" into the intro and its (marker, text) items."""
    matches = list(_SUB_INLINE.finditer(text))
    # Only a list that starts with (a) or (i) after a colon is a list; "(c) of the Charter" is not.
    while matches and not (matches[0].group(1) == ":" and matches[0].group(2) in {"a", "i"}):
        matches.pop(0)
    if not matches:
        return text, []
    intro = text[: matches[0].start() + 1]
    items = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() + 1 if index + 1 < len(matches) else len(text)
        items.append((match.group(2), text[match.end() : end].strip()))
    return intro.strip(), items


# --- building paragraphs ------------------------------------------------------------------------


def _preambular(position: int, text: str, language: str) -> Paragraph:
    verb = match_verb(text, language, preambular=True)
    return Paragraph(
        kind="preambular",
        num=str(position),
        eid=naming.preambular_eid(position),
        verb=verb.lemma if verb else None,
        verb_text=verb.text if verb else None,
        addressee=None,
        text=text,
    )


def _operative(num: str, text: str, items: list[tuple[str, str]], language: str) -> Paragraph:
    verb = match_verb(text, language)
    eid = naming.operative_eid(num)
    return Paragraph(
        kind="operative",
        num=num,
        eid=eid,
        verb=verb.lemma if verb else None,
        verb_text=verb.text if verb else None,
        addressee=find_addressee(text, verb, language) if verb else None,
        text=text,
        subparagraphs=_nest(items, eid),
    )


@dataclass
class _Level:
    kind: Literal["alpha", "roman"]
    items: list[tuple[str, str, list[_Level]]]  # (marker, text, nested levels)


def _next_marker(level: _Level) -> str:
    last = level.items[-1][0]
    if level.kind == "roman":
        return _roman((roman_to_int(last.upper()) or 0) + 1)
    return chr(ord(last[-1]) + 1) if len(last) == 1 and last < "z" else ""


def _roman(value: int) -> str:
    """A lower-case Roman numeral; sub-paragraph markers never reach 400."""
    ones = ("", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix")
    tens = ("", "x", "xx", "xxx", "xl", "l", "lx", "lxx", "lxxx", "xc")
    return "c" * (value // 100) + tens[value // 10 % 10] + ones[value % 10]


def _nest(items: list[tuple[str, str]], parent: str) -> tuple[SubParagraph, ...]:
    """Nest a flat run of markers: (a) (b) (i) (ii) (c) puts (i) and (ii) under (b).

    A marker continues the innermost level that expects it ("(c)" after "(b)", "(iii)" after
    "(ii)"), else it closes levels until one does; "(i)" in a lettered list and "(a)" in a
    Roman one open a level below. Anything else is taken as the next item where it stands.
    """
    if not items:
        return ()
    (first, first_text), *rest = items
    top = _Level(_list_kind(first), [(first, first_text, [])])
    stack = [top]
    for marker, text in rest:
        _find_level(stack, marker)
        stack[-1].items.append((marker, text, []))
    return _build(top, parent)


def _list_kind(marker: str) -> Literal["alpha", "roman"]:
    """The kind of list its first marker opens: "(i)" or "(iv)" a Roman one, else a lettered."""
    if marker == "i" or (len(marker) > 1 and roman_to_int(marker.upper())):
        return "roman"
    return "alpha"


def _find_level(stack: list[_Level], marker: str) -> None:
    """Leave the level ``marker`` belongs to on top of ``stack``: one that expects it, else
    a new level below (see :func:`_nest`), else the innermost one."""
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth].items and marker == _next_marker(stack[depth]):
            del stack[depth + 1 :]
            return
    inner = stack[-1]
    if _opens_below(inner, marker) and inner.items and len(stack) < _MAX_DEPTH:
        child = _Level("roman" if marker == "i" else "alpha", [])
        inner.items[-1][2].append(child)
        stack.append(child)


def _opens_below(level: _Level, marker: str) -> bool:
    """Whether ``marker`` opens a list inside ``level``: "(i)" in a lettered one, "(a)" in a
    Roman one."""
    return (marker == "i" and level.kind == "alpha") or (marker == "a" and level.kind == "roman")


def _build(level: _Level, parent: str) -> tuple[SubParagraph, ...]:
    built = []
    seen: dict[str, int] = {}
    for marker, text, children in level.items:
        # eIds must be unique; a repeated marker (a typo in the source) gets a counter.
        seen[marker] = seen.get(marker, 0) + 1
        num = marker if seen[marker] == 1 else f"{marker}_{seen[marker]}"
        eid = naming.point_eid(parent, num)
        nested = tuple(sub for child in children for sub in _build(child, eid))
        built.append(SubParagraph(num=marker, eid=eid, text=text, subparagraphs=nested))
    return tuple(built)
