"""Hypothesis strategies that damage real resolutions the way uploads get damaged.

The seeds are the shipped resolution and the test fixtures (plain text, Markdown and Akoma
Ntoso), plus the Akoma Ntoso export of every text seed. A mutated input is a seed with a few
edits drawn from what really happens to documents: lines lost, doubled or swapped when a
text is copied out of a PDF, paragraph numbers mistyped, markup left half-closed, stray
characters and control bytes, other encodings, truncated files, and XML elements removed,
moved, renamed or given odd attributes.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from lxml import etree

from operative.core.settings import REPO_ROOT
from operative.resolution import parse_bytes, to_akn

SEED_FILES = sorted(
    [
        *(REPO_ROOT / "config" / "resolutions").glob("*.txt"),
        *(REPO_ROOT / "tests" / "fixtures" / "resolutions").iterdir(),
    ]
)
SEED_BYTES: dict[str, bytes] = {path.name: path.read_bytes() for path in SEED_FILES}
TEXT_SEEDS: dict[str, str] = {
    name: data.decode("utf-8") for name, data in SEED_BYTES.items() if not name.endswith(".xml")
}
XML_SEEDS: dict[str, bytes] = {
    **{name: data for name, data in SEED_BYTES.items() if name.endswith(".xml")},
    **{
        f"{name}.akn.xml": to_akn(parse_bytes(SEED_BYTES[name], source=name)) for name in TEXT_SEEDS
    },
}

Draw = Callable[[st.SearchStrategy[Any]], Any]

# Lines that mean something to the reader: they open units, carry numbers or markup.
FRAGMENTS = st.sampled_from(
    [
        "",
        "   ",
        "The Council,",
        "L’Assemblée générale,",
        "La Asamblea General,",
        "Resolves to:",
        "Décide :",
        "RESOLUTION No. 1244 (CI)",
        "RESOLUTION No. 12 (MMMMCMXCIX)",
        "RÉSOLUTION N° 0 ()",
        "101ST SESSION",
        "(Adopted by the Council at its 523rd meeting on 31 February 2012)",
        "(Adopted by the Council at its 0th meeting on 27 November 99999)",
        "**IOM AND",
        "**",
        "*",
        "_",
        "# ",
        "#",
        "1.",
        "1. ",
        "0. Request the Director General;",
        "999. Request the Director General;",
        "1. *Request* the Director General to act;",
        "2. Prie le Secrétaire général de lui présenter :",
        "3. Pide al Secretario General que: (a) uno; (b) dos",
        "(a)",
        "(a) To do this;",
        "(z) Last;",
        "(i) In part;",
        "(mmmmmm) Deep;",
        "a) Otro;",
        "(a) (b) (c) (d) nested",
        "Taking note of it,",
        "Recordando su resolución,",
        "Recalling",
        "continued in lower case",
        "A/RES/67/219",
        "A/RES/",
        "54th plenary meeting",
        "19 December 2044",
        "<akomaNtoso>",
        "<?xml",
        "\\1. escaped",
        "\u00a0\u2003\u200b",
        "\u202e right to left",
        "\ufeff",
        "\x0c",
        "\t(a)\tTabbed",
        "1\\. Markdown-escaped number",
        "- bullet",
        "> quoted",
    ]
)
JUNK = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
    max_size=30,
)
ANY_CHARS = st.text(max_size=12)


def _pos(draw: Draw, items: list[Any]) -> int:
    return int(draw(st.integers(0, max(len(items) - 1, 0))))


def _cut(draw: Draw, lines: list[str]) -> tuple[int, int]:
    """A line of ``lines`` (not empty) and a place in it."""
    at = _pos(draw, lines)
    return at, int(draw(st.integers(0, len(lines[at]))))


def _delete(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        del lines[_pos(draw, lines)]
    return lines


def _duplicate(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at = _pos(draw, lines)
        lines.insert(at, lines[at])
    return lines


def _swap(draw: Draw, lines: list[str]) -> list[str]:
    if len(lines) > 1:
        a, b = _pos(draw, lines), _pos(draw, lines)
        lines[a], lines[b] = lines[b], lines[a]
    return lines


def _insert_fragment(draw: Draw, lines: list[str]) -> list[str]:
    lines.insert(_pos(draw, lines), draw(FRAGMENTS))
    return lines


def _replace_line(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        lines[_pos(draw, lines)] = draw(st.one_of(FRAGMENTS, JUNK))
    return lines


def _splice(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at, cut = _cut(draw, lines)
        lines[at] = lines[at][:cut] + draw(st.one_of(JUNK, ANY_CHARS)) + lines[at][cut:]
    return lines


def _renumber(draw: Draw, lines: list[str]) -> list[str]:
    numbered = [i for i, line in enumerate(lines) if re.search(r"\d|\([a-z]+\)", line)]
    if numbered:
        at = numbered[draw(st.integers(0, len(numbered) - 1))]
        new = draw(
            st.one_of(
                st.integers(0, 10**6).map(str),
                st.sampled_from(["", "x", "IV", "ii", "1.5", "-1", "01", "١", "²"]),
            )
        )
        lines[at] = re.sub(r"\d+|(?<=\()[a-z]+(?=\))", new, lines[at], count=1)
    return lines


def _truncate_line(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at, cut = _cut(draw, lines)
        lines[at] = lines[at][:cut]
    return lines


def _markup(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at = _pos(draw, lines)
        mark = draw(st.sampled_from(["**", "*", "_", "__", "# ", "## ", "\\", "`"]))
        if draw(st.booleans()):
            lines[at] = mark + lines[at]
        else:
            lines[at] = re.sub(r"[*_#`\\]", "", lines[at])
    return lines


def _join(draw: Draw, lines: list[str]) -> list[str]:
    if len(lines) > 1:
        at = draw(st.integers(0, len(lines) - 2))
        lines[at : at + 2] = [lines[at] + draw(st.sampled_from(["", " "])) + lines[at + 1]]
    return lines


def _split(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at, cut = _cut(draw, lines)
        lines[at : at + 1] = [lines[at][:cut], lines[at][cut:]]
    return lines


def _case(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        at = _pos(draw, lines)
        lines[at] = draw(st.sampled_from([str.upper, str.lower, str.title, str.swapcase]))(
            lines[at]
        )
    return lines


def _drop_range(draw: Draw, lines: list[str]) -> list[str]:
    if lines:
        a = _pos(draw, lines)
        b = draw(st.integers(a, min(a + 20, len(lines))))
        del lines[a:b]
    return lines


LINE_OPS = [
    _delete,
    _duplicate,
    _swap,
    _insert_fragment,
    _replace_line,
    _splice,
    _renumber,
    _truncate_line,
    _markup,
    _join,
    _split,
    _case,
    _drop_range,
]


@st.composite
def mutated_texts(draw: Draw) -> str:
    """A text or Markdown seed with one to eight line-level edits."""
    lines = TEXT_SEEDS[draw(st.sampled_from(sorted(TEXT_SEEDS)))].split("\n")
    for _ in range(draw(st.integers(1, 8))):
        lines = draw(st.sampled_from(LINE_OPS))(draw, lines)
    return str(draw(st.sampled_from(["\n", "\r\n", "\r"]))).join(lines)


def _encode(draw: Draw, text: str) -> bytes:
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"])
    )
    data = text.encode(encoding, errors="replace")
    if encoding == "utf-16-le" and draw(st.booleans()):
        data = codecs.BOM_UTF16_LE + data
    return data


@st.composite
def mutated_bytes(draw: Draw) -> bytes:
    """Any seed, perhaps re-encoded, with bytes flipped, inserted, cut or the file truncated."""
    name = draw(st.sampled_from(sorted(SEED_BYTES)))
    data = bytearray(
        _encode(draw, TEXT_SEEDS[name])
        if name in TEXT_SEEDS and draw(st.booleans())
        else SEED_BYTES[name]
    )
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "cut", "truncate", "prefix"]))
        if op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        elif op == "prefix":
            data[0:0] = draw(
                st.sampled_from(
                    [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00", b"<"]
                )
            )
    return bytes(data)


def _xml_safe(text: str) -> str:
    return re.sub(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd]", "", text)


_XML_TEXT = st.one_of(FRAGMENTS, JUNK).map(_xml_safe)


def _tree_edit(draw: Draw, root: etree._Element) -> None:
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    element = elements[draw(st.integers(0, len(elements) - 1))]
    parent = element.getparent()
    op = draw(
        st.sampled_from(["remove", "duplicate", "move", "text", "attribute", "rename", "empty"])
    )
    if op == "remove" and parent is not None:
        parent.remove(element)
    elif op == "duplicate" and parent is not None:
        parent.insert(parent.index(element), copy.deepcopy(element))
    elif op == "move" and parent is not None:
        target = elements[draw(st.integers(0, len(elements) - 1))]
        if element not in target.iterancestors() and target is not element:
            parent.remove(element)
            target.append(element)
    elif op == "text":
        element.text = draw(_XML_TEXT)
    elif op == "attribute":
        name = draw(st.sampled_from([*element.attrib.keys(), "eId", "date", "value", "name"]))
        element.set(
            name,
            draw(
                st.one_of(
                    _XML_TEXT,
                    st.sampled_from(["", "2013-02-30", "para_1", "0", "-1", "x" * 200, "#"]),
                )
            ),
        )
    elif op == "rename":
        namespace = etree.QName(element).namespace
        local = draw(
            st.sampled_from(["paragraph", "num", "p", "docNumber", "docDate", "preamble", "span"])
        )
        element.tag = f"{{{namespace}}}{local}" if namespace else local
    elif op == "empty":
        for child in list(element):
            element.remove(child)
        element.text = None


@st.composite
def mutated_xml(draw: Draw) -> bytes:
    """An Akoma Ntoso seed with elements removed, moved, renamed or rewritten, or its bytes cut."""
    seed = XML_SEEDS[draw(st.sampled_from(sorted(XML_SEEDS)))]
    root = etree.fromstring(seed)
    for _ in range(draw(st.integers(1, 5))):
        _tree_edit(draw, root)
    data = bytearray(etree.tostring(root, xml_declaration=draw(st.booleans()), encoding="UTF-8"))
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            del data[at:]
        else:
            data[at:at] = draw(st.sampled_from([b"<", b"&", b"]]>", b"<!DOCTYPE x>", b"\xff"]))
    return bytes(data)
