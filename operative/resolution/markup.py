"""The little Markdown that resolution texts carry: emphasis, headings, and whitespace.

Resolutions arrive as plain text or as Markdown converted from the printed page: verbs in
``*italic*`` or ``_italic_``, titles in ``**bold**`` or ``__bold__`` (spanning lines) or as
``#`` headings. None of it is content: it is removed before anything is stored or compared,
so the same resolution with or without emphasis parses to the same values.
"""

from __future__ import annotations

import re

# Emphasis opens before a non-space and closes after one, as in CommonMark, so a lone "*"
# marking a footnote ("A/RES/69/250*") or a snake_case word is left alone. A span is at most
# a few lines long; the bound keeps a text full of unpaired markers from taking quadratic time.
_SPAN = r"(.{1,2000}?)"
_BOLD = re.compile(rf"(?<![*\w])(\*\*|__)(?=\S){_SPAN}(?<=\S)\1(?![*\w])", re.S)
_ITALIC_STAR = re.compile(rf"(?<![*\w])\*(?=[^\s*]){_SPAN}(?<=[^\s*])\*(?![*\w])", re.S)
_ITALIC_UNDERSCORE = re.compile(rf"(?<![_\w])_(?=[^\s_]){_SPAN}(?<=[^\s_])_(?![_\w])", re.S)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:\s+|$)(.*?)(?:\s+#+)?\s*$")


def strip_emphasis(text: str) -> str:
    """Remove paired emphasis markers, keeping what they wrap."""
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC_STAR.sub(r"\1", text)
    return _ITALIC_UNDERSCORE.sub(r"\1", text)


def normalise(text: str) -> str:
    """Collapse every run of whitespace (including no-break spaces) into one space."""
    return " ".join(text.split())


def clean(text: str) -> str:
    """The stored form of a piece of text: no emphasis, single spaces."""
    return normalise(strip_emphasis(text))


def heading(line: str) -> str | None:
    """The text of a Markdown ATX heading ("## Resolution 1244" -> "Resolution 1244"), else None."""
    match = _HEADING.match(line)
    return match.group(2) if match else None


def is_bold_block(text: str) -> bool:
    """Whether a whole block is one bold span, as titles often are."""
    stripped = text.strip()
    return bool(_BOLD.fullmatch(stripped)) and stripped[:2] in {"**", "__"}


def plain(line: str) -> str:
    """A line as read for its meaning: heading marks, emphasis and stray markers dropped."""
    text = heading(line)
    text = strip_emphasis(line if text is None else text)
    return normalise(text.strip("*_ \t"))
