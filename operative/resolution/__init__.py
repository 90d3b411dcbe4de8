"""Resolutions as data: parsing text, Markdown and Akoma Ntoso, and exporting Akoma Ntoso.

``parse_file``/``parse_bytes``/``parse_text`` read a resolution (IOM Council or UN style, in
English, French or Spanish) into a ``ParsedResolution``: header metadata, preambular and
numbered operative paragraphs with their sub-paragraphs, each operative verb reduced to an
English lemma and its addressee. ``to_akn``/``from_akn`` convert to and from Akoma Ntoso 3.0
with AKN4UN naming. Bad input of any kind raises ``ResolutionParseError`` and nothing else.
"""

from __future__ import annotations

from operative.resolution.akn import from_akn, to_akn
from operative.resolution.lexicon import is_declaratory
from operative.resolution.model import (
    Paragraph,
    ParsedResolution,
    ResolutionParseError,
    SubParagraph,
)
from operative.resolution.parser import parse_bytes, parse_file, parse_text

__all__ = [
    "Paragraph",
    "ParsedResolution",
    "ResolutionParseError",
    "SubParagraph",
    "from_akn",
    "is_declaratory",
    "parse_bytes",
    "parse_file",
    "parse_text",
    "to_akn",
]
