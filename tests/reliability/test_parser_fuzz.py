"""Parser fuzzing: over 10,000 damaged resolutions, every one parsed or cleanly refused.

Each test runs a fixed number of examples, derandomised and without Hypothesis's example
database, so CI sees the same inputs on every run. The figures in README's Reliability
section come from these settings.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operative.resolution import (
    ParsedResolution,
    ResolutionParseError,
    from_akn,
    parse_bytes,
    parse_text,
    to_akn,
)
from tests.reliability.mutations import (
    FRAGMENTS,
    XML_SEEDS,
    mutated_bytes,
    mutated_texts,
    mutated_xml,
)

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(read: object, source: str = "fuzz") -> ParsedResolution | None:
    """Call the reader; a refusal must be the parser's own error, in one non-empty line."""
    try:
        parsed = read()  # type: ignore[operator]
    except ResolutionParseError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(f"{source}:"), message
        assert error.reason.strip(), message
        return None
    assert isinstance(parsed, ParsedResolution)
    assert parsed.operative, "a resolution without operative paragraphs was accepted"
    return parsed


def _round_trips(parsed: ParsedResolution) -> None:
    assert from_akn(to_akn(parsed), source="fuzz") == parsed


@settings(FUZZ, max_examples=4000)
@given(mutated_texts())
def test_mutated_texts_parse_or_are_refused_in_one_line(text: str) -> None:
    """Catches a crash (IndexError, AttributeError, a regex on None…) on a damaged text or
    Markdown resolution, and an accepted text that Akoma Ntoso cannot carry."""
    parsed = _check(lambda: parse_text(text, source="fuzz"))
    if parsed is not None:
        _round_trips(parsed)


@settings(FUZZ, max_examples=2500)
@given(mutated_bytes())
def test_damaged_bytes_parse_or_are_refused_in_one_line(data: bytes) -> None:
    """Catches a decoding error, or a crash on truncated, re-encoded or bit-flipped files,
    escaping as something other than ResolutionParseError."""
    _check(lambda: parse_bytes(data, source="fuzz"))


@settings(FUZZ, max_examples=2500)
@given(mutated_xml())
def test_mutated_akoma_ntoso_parses_or_is_refused_in_one_line(data: bytes) -> None:
    """Catches the XML reader trusting the document's shape: a missing, doubled, moved or
    renamed element, or an odd attribute, raising KeyError, TypeError or lxml's own errors."""
    parsed = _check(lambda: parse_bytes(data, source="fuzz"))
    if parsed is not None:
        _round_trips(parsed)


_LINES = st.lists(st.one_of(FRAGMENTS, st.text(max_size=40)), max_size=30)


@settings(FUZZ, max_examples=1500)
@given(_LINES, st.sampled_from(["\n", "\n\n"]))
def test_texts_built_from_resolution_lines_parse_or_are_refused(lines: list[str], sep: str) -> None:
    """Catches a crash on texts assembled from the lines that steer the reader (intros,
    numbers, markers, markup) in orders no real resolution has."""
    parsed = _check(lambda: parse_text(sep.join(lines), source="fuzz"))
    if parsed is not None:
        _round_trips(parsed)


_AKN_1244 = XML_SEEDS["resolution-1244.txt.akn.xml"]


def test_an_empty_verb_element_leaves_the_verb_to_the_text() -> None:
    """Found by fuzzing: an emptied <i refersTo="#verb…"/> gave a verb with no words, which the
    Akoma Ntoso export then dropped, so a document and its export disagreed."""
    data = _AKN_1244.replace(b">Taking note</i>", b"></i>", 1)
    assert data != _AKN_1244
    parsed = parse_bytes(data, source="fuzz")
    assert parsed.preambular[0].verb_text is None
    _round_trips(parsed)


def test_an_operative_paragraph_with_no_text_is_refused() -> None:
    """Found by fuzzing: a <paragraph> whose content was emptied became an obligation to do
    nothing; the text reader never produces one."""
    start = _AKN_1244.index(b"<content>", _AKN_1244.index(b'eId="para_2"'))
    end = _AKN_1244.index(b"</content>", start) + len(b"</content>")
    data = _AKN_1244[:start] + b"<content/>" + _AKN_1244[end:]
    with pytest.raises(ResolutionParseError, match="operative paragraph 2 has no text"):
        parse_bytes(data, source="fuzz")


def test_a_verb_marked_outside_the_paragraph_text_is_not_taken() -> None:
    """Found by fuzzing: a verb element outside the <p> blocks (here in a stray <num>) was taken
    as the verb of a paragraph whose text does not contain it."""
    data = _AKN_1244.replace(
        b'<p><i refersTo="#verbEncourage">Encourage</i>',
        b'<p/><num><i refersTo="#verbEncourage">Encourage</i></num><p>',
        1,
    )
    assert data != _AKN_1244
    parsed = parse_bytes(data, source="fuzz")
    assert all(p.verb_text is None or p.verb_text in p.text for p in parsed.operative)
    _round_trips(parsed)
