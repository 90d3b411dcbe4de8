"""Akoma Ntoso export and import: round trips, FRBR naming, eIds, markup, bad XML."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from operative.resolution import (
    ParsedResolution,
    ResolutionParseError,
    SubParagraph,
    from_akn,
    parse_file,
    to_akn,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "config" / "resolutions" / "resolution-1244.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "resolutions"
SOURCES = [SEED, *sorted(FIXTURES.iterdir())]
AKN = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
NS = {"a": AKN}


def _xml(res: ParsedResolution) -> etree._Element:
    return etree.fromstring(to_akn(res))


def _value(root: etree._Element, path: str, attribute: str = "value") -> str:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, path
    element = found[0]
    assert isinstance(element, etree._Element)
    return element.get(attribute, "")


def _points(items: tuple[SubParagraph, ...]) -> list[SubParagraph]:
    return [p for item in items for p in (item, *_points(item.subparagraphs))]


@pytest.fixture(scope="module")
def seed() -> ParsedResolution:
    return parse_file(SEED)


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_round_trip_gives_the_same_resolution(source: Path) -> None:
    """Partners get our XML and we may get it back: nothing may be lost or changed on the way."""
    parsed = parse_file(source)
    again = from_akn(to_akn(parsed), source="round-trip.xml")
    assert again == parsed
    assert again.content_hash == parsed.content_hash
    assert to_akn(again) == to_akn(parsed)


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_export_is_well_formed_akn_with_frbr_names_and_eids(source: Path) -> None:
    """Other systems resolve our documents by their FRBR IRIs and link to paragraphs by eId."""
    parsed = parse_file(source)
    root = _xml(parsed)
    assert root.tag == f"{{{AKN}}}akomaNtoso"
    statement = root[0]
    assert statement.tag == f"{{{AKN}}}statement" and statement.get("name") == "resolution"
    assert [etree.QName(child).localname for child in statement] == [
        "meta",
        "preface",
        "preamble",
        "mainBody",
    ]
    ident = "a:statement/a:meta/a:identification"
    levels = {
        "FRBRWork": (f"{parsed.work_uri}/!main", parsed.work_uri),
        "FRBRExpression": (f"{parsed.expression_uri}/!main", parsed.expression_uri),
        "FRBRManifestation": (f"{parsed.expression_uri}/!main.xml", parsed.manifestation_uri),
    }
    for level, (this, uri) in levels.items():
        assert _value(root, f"{ident}/a:{level}/a:FRBRthis") == this
        assert _value(root, f"{ident}/a:{level}/a:FRBRuri") == uri
    assert _value(root, f"{ident}/a:FRBRWork/a:FRBRcountry") == "un"
    assert _value(root, f"{ident}/a:FRBRWork/a:FRBRnumber") == parsed.number
    language = {"en": "eng", "fr": "fra", "es": "spa"}[parsed.language]
    assert _value(root, f"{ident}/a:FRBRExpression/a:FRBRlanguage", "language") == language
    assert parsed.expression_uri.endswith(f"/{language}@")

    eids = [str(e) for e in root.xpath("//@eId")]
    assert len(eids) == len(set(eids))
    for paragraph in (*parsed.preambular, *parsed.operative):
        assert paragraph.eid in eids
        for point in _points(paragraph.subparagraphs):
            assert point.eid in eids


def test_seed_frbr_iris(seed: ParsedResolution) -> None:
    """The IRI is the resolution's permanent name; changing it breaks every link to it."""
    assert seed.work_uri == "/akn/un/statement/deliberation/iom-council/2012-11-27/1244"
    assert seed.expression_uri == f"{seed.work_uri}/eng@"
    assert seed.manifestation_uri == f"{seed.work_uri}/eng@.akn"
    root = _xml(seed)
    ident = "a:statement/a:meta/a:identification"
    assert _value(root, f"{ident}/a:FRBRWork/a:FRBRdate", "date") == "2012-11-27"
    author = _value(root, f"{ident}/a:FRBRWork/a:FRBRauthor", "href")
    assert _value(root, f"//a:TLCOrganization[@eId='{author[1:]}']", "showAs") == "IOM Council"


def test_un_symbol_number_becomes_the_iri_number() -> None:
    """AKN4UN writes "67/219" as "67-219" and uses the actor code unga."""
    parsed = parse_file(FIXTURES / "un-ga-en.md")
    assert parsed.work_uri == "/akn/un/statement/deliberation/unga/2044-12-14/99-101"


def test_verbs_and_addressees_are_marked_up_in_standard_places(seed: ParsedResolution) -> None:
    """Readers of the XML see who must act without re-running our parser."""
    root = _xml(seed)
    paragraph = root.xpath("//a:paragraph[@eId='para_5']", namespaces=NS)[0]
    verb = paragraph.xpath(".//a:i", namespaces=NS)[0]
    role = paragraph.xpath(".//a:role", namespaces=NS)[0]
    assert (verb.text, role.text) == ("Request", "Chairperson of the IOM Council")
    assert _value(root, f"//a:TLCConcept[@eId='{verb.get('refersTo')[1:]}']", "showAs") == "request"
    assert _value(root, f"//a:TLCRole[@eId='{role.get('refersTo')[1:]}']", "showAs") == (
        "Chairperson of the IOM Council"
    )
    assert "".join(paragraph.xpath("a:content/a:p", namespaces=NS)[0].itertext()) == (
        seed.operative[4].text
    )


def test_preface_carries_number_session_meeting_date_and_title(seed: ParsedResolution) -> None:
    """The header values sit in AKN's own inline elements, not in private attributes."""
    root = _xml(seed)
    assert root.xpath("string(//a:preface//a:docAuthority)", namespaces=NS) == "IOM Council"
    assert root.xpath("string(//a:preface//a:docNumber)", namespaces=NS) == "1244"
    assert _value(root, "//a:preface//a:session") == "101"
    assert root.xpath("string(//a:preface//a:session)", namespaces=NS) == "CI"
    assert _value(root, "//a:preface//a:docDate", "date") == "2012-11-27"
    assert root.xpath("string(//a:preface//a:inline[@name='meeting'])", namespaces=NS) == (
        "523rd meeting"
    )
    assert root.xpath("string(//a:preface//a:docTitle)", namespaces=NS) == seed.title
    assert root.xpath("string(//a:formula[@name='enactingFormula'])", namespaces=NS).strip() == (
        "The Council,"
    )


def test_sub_paragraphs_become_lists_of_points() -> None:
    """(a)/(b) with nested (i)/(ii) keep their numbers and their eIds in the XML."""
    root = _xml(parse_file(FIXTURES / "un-ga-en.md"))
    nested = root.xpath(
        "//a:point[@eId='para_2__list_1__point_b']/a:list/a:point/a:num/text()", namespaces=NS
    )
    assert nested == ["(i)", "(ii)"]
    assert root.xpath("//a:paragraph[@eId='para_2']/a:intro/a:p", namespaces=NS)


def test_export_is_deterministic(seed: ParsedResolution) -> None:
    """Exporting twice must give the same bytes, or every export looks like a change."""
    assert to_akn(seed) == to_akn(parse_file(SEED))


def test_from_akn_accepts_text_as_well_as_bytes(seed: ParsedResolution) -> None:
    """Stored XML may come back as text from the database."""
    assert from_akn(to_akn(seed).decode("utf-8"), source="db") == seed


def test_akn4un_document_without_our_markup_is_read() -> None:
    """UN tools mark verbs as italic spans and put paragraphs in containers; we read those too."""
    parsed = from_akn((FIXTURES / "un-ga-akn4un.xml").read_bytes(), source="un.xml")
    assert (parsed.body, parsed.number, parsed.symbol) == (
        "UN General Assembly",
        "99/104",
        "A/RES/99/104",
    )
    assert (parsed.session, parsed.meeting, parsed.adopted_on) == (99, 70, dt.date(2044, 12, 19))
    assert parsed.title == "Training of lighthouse keepers in the fixture archipelago"
    assert parsed.preamble_intro == "The General Assembly,"
    assert [(p.eid, p.verb, p.verb_text) for p in parsed.preambular] == [
        ("container_1", "recall", "Recalling"),
        ("container_2", "note", "Noting with concern"),
    ]
    assert [(p.verb, p.addressee) for p in parsed.operative] == [
        ("request", "Secretary-General"),
        ("encourage", "Member States"),
        ("decide", None),
    ]
    assert parsed.operative[1].text == "Encourages Member States:"
    assert [s.num for s in parsed.operative[1].subparagraphs] == ["a", "b"]
    assert parsed.work_uri == "/akn/un/statement/deliberation/unga/2044-12-19/99-104"


def test_content_hash_follows_the_content(seed: ParsedResolution) -> None:
    """A changed paragraph must be noticed when the resolution is ingested again."""
    changed = dataclasses.replace(
        seed, operative=(dataclasses.replace(seed.operative[0], text="Request nothing."),)
    )
    assert changed.content_hash != seed.content_hash
    assert parse_file(SEED).content_hash == seed.content_hash


def _akn_error(data: bytes | str) -> ResolutionParseError:
    with pytest.raises(ResolutionParseError) as caught:
        from_akn(data, source="in.xml")
    return caught.value


def test_malformed_xml_names_its_line() -> None:
    """A broken export must point at the line to fix."""
    error = _akn_error(b'<?xml version="1.0"?>\n<akomaNtoso>\n  <statement>\n</akomaNtoso>\n')
    assert error.line == 4
    assert error.reason.startswith("malformed XML:")
    assert str(error).startswith("in.xml:4: malformed XML:")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "malformed XML"),
        (b"<html><body/></html>", "not an Akoma Ntoso 3.0 document"),
        (f'<akomaNtoso xmlns="{AKN}"/>'.encode(), "no document inside akomaNtoso"),
        (
            f'<akomaNtoso xmlns="{AKN}"><statement name="resolution"><meta/></statement>'
            "</akomaNtoso>".encode(),
            "no mainBody",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            b'<akomaNtoso xmlns="http://docs.oasis-open.org/legaldocml/ns/akn/3.0">&lol;</akomaNtoso>',
            "XML with a DOCTYPE is not accepted",
        ),
    ],
)
def test_xml_that_is_not_a_resolution_is_rejected(data: bytes, reason: str) -> None:
    """Only well-formed Akoma Ntoso resolutions get in; entity tricks get nowhere."""
    assert _akn_error(data).reason.startswith(reason)


def test_numbering_errors_in_xml_are_caught(seed: ParsedResolution) -> None:
    """The XML reader enforces the same 1, 2, 3… rule as the text reader."""
    xml = to_akn(seed).replace(b"<num>4.</num>", b"<num>3.</num>")
    error = _akn_error(xml)
    assert error.reason == "duplicate paragraph number 3"
    assert error.line is not None and xml.splitlines()[error.line - 1].strip().startswith(
        b'<paragraph eId="para_4"'
    )


def test_unsupported_language_is_rejected(seed: ParsedResolution) -> None:
    """Our lexicon covers English, French and Spanish; anything else must not pass silently."""
    xml = to_akn(seed).replace(b'language="eng"', b'language="deu"')
    assert _akn_error(xml).reason == "unsupported language 'deu'"


def test_resolution_without_date_or_number_still_exports(seed: ParsedResolution) -> None:
    """Drafts lack both; the IRI says so instead of failing."""
    draft = dataclasses.replace(seed, adopted_on=None, number="", meeting=None)
    assert draft.work_uri == "/akn/un/statement/deliberation/iom-council/undated/nn"
    assert from_akn(to_akn(draft), source="draft.xml") == draft
