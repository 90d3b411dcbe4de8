"""Reading resolutions from text and Markdown: the seed, translations, UN style, bad input."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operative.errors import Invalid
from operative.resolution import (
    Paragraph,
    ParsedResolution,
    ResolutionParseError,
    SubParagraph,
    from_akn,
    is_declaratory,
    parse_bytes,
    parse_file,
    parse_text,
    to_akn,
)
from operative.resolution.lexicon import LEMMAS, find_addressee, match_verb

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "config" / "resolutions" / "resolution-1244.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "resolutions"


@pytest.fixture(scope="module")
def seed() -> ParsedResolution:
    return parse_file(SEED)


def _verbs(paragraphs: tuple[Paragraph, ...]) -> list[tuple[str | None, str | None, str | None]]:
    return [(p.verb, p.verb_text, p.addressee) for p in paragraphs]


def _tree(items: tuple[SubParagraph, ...]) -> list[object]:
    return [(item.num, item.eid, _tree(item.subparagraphs)) for item in items]


# --- the seed -------------------------------------------------------------------------------------


def test_seed_header_metadata(seed: ParsedResolution) -> None:
    """Every obligation's deadline and every notice starts from these values."""
    assert (seed.body, seed.number, seed.session, seed.session_roman) == (
        "IOM Council",
        "1244",
        101,
        "CI",
    )
    assert seed.meeting == 523
    assert seed.adopted_on == dt.date(2012, 11, 27)
    assert seed.language == "en"
    assert seed.symbol is None
    assert seed.title == (
        "IOM AND THE UNITED NATIONS HIGH-LEVEL DIALOGUE ON INTERNATIONAL MIGRATION AND "
        "DEVELOPMENT IN 2013"
    )
    assert (seed.preamble_intro, seed.operative_intro) == ("The Council,", "Resolves to:")


def test_seed_has_ten_preambular_and_five_operative_paragraphs(seed: ParsedResolution) -> None:
    """One obligation per operative paragraph: a lost or merged paragraph is lost work."""
    assert [p.num for p in seed.preambular] == [str(n) for n in range(1, 11)]
    assert [p.eid for p in seed.preambular][:2] == ["preamble__p_1", "preamble__p_2"]
    assert {p.kind for p in seed.preambular} == {"preambular"}
    assert [p.num for p in seed.operative] == ["1", "2", "3", "4", "5"]
    assert [p.eid for p in seed.operative] == [f"para_{n}" for n in range(1, 6)]
    assert {p.kind for p in seed.operative} == {"operative"}


def test_seed_operative_verbs_and_addressees(seed: ParsedResolution) -> None:
    """Playbooks are chosen by verb and addressee (DESIGN §1's table)."""
    assert _verbs(seed.operative) == [
        ("request", "Request", "Director General"),
        ("request", "Further request", "Director General"),
        ("affirm", "Affirm", "Member States"),
        ("encourage", "Encourage", "Member States"),
        ("request", "Request", "Chairperson of the IOM Council"),
    ]


def test_seed_preambular_participles_are_lemmatised(seed: ParsedResolution) -> None:
    """Preambular verbs feed the same lexicon, so reports can group them in any language."""
    assert [p.verb for p in seed.preambular] == [
        "take note",
        "take note",
        "bear in mind",
        "reaffirm",
        "recall",
        "be aware",
        "bear in mind",
        "recognize",
        "note",
        "recognize",
    ]
    assert seed.preambular[1].verb_text == "Taking further note"
    assert all(p.addressee is None for p in seed.preambular)


def test_paragraph_text_is_clean_but_as_written(seed: ParsedResolution) -> None:
    """Stored text is quoted in messages: no Markdown, but the document's own quotes."""
    op2 = seed.operative[1]
    assert op2.text.startswith("Further request the Director General to ensure that IOM’s")
    assert op2.text.endswith("the perspectives of migrants themselves;")
    pre7 = seed.preambular[6].text
    assert "“provide a forum" in pre7 and "issues...”," in pre7
    for paragraph in (*seed.preambular, *seed.operative):
        assert "*" not in paragraph.text and "\n" not in paragraph.text
        assert paragraph.text == " ".join(paragraph.text.split())
    assert seed.operative[-1].text.endswith("in all aspects of the High-level Dialogue in 2013.")


def test_seed_operative_paragraph_3_is_declaratory(seed: ParsedResolution) -> None:
    """An affirmation needs recording, not chasing: the playbooks treat it differently."""
    assert is_declaratory(seed.operative[2].verb or "")
    assert not is_declaratory(seed.operative[0].verb or "")


def test_reflowed_markdown_seed_is_the_same_resolution(seed: ParsedResolution) -> None:
    """Re-typesetting a resolution (wrapped lines, headings, _emphasis_) must not change it."""
    reflowed = parse_file(FIXTURES / "iom-1244-en-reflowed.md")
    assert reflowed == seed
    assert reflowed.content_hash == seed.content_hash


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda text: codecs.BOM_UTF8 + text.encode(), id="utf8-bom"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf16-bom"),
        pytest.param(lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"), id="utf16-be"),
        pytest.param(lambda text: text.replace("*", "").encode(), id="no-emphasis"),
        pytest.param(lambda text: (text + "\n\n\n").encode(), id="trailing-newlines"),
    ],
)
def test_seed_reads_the_same_in_any_accepted_encoding(
    seed: ParsedResolution, encode: Callable[[str], bytes]
) -> None:
    """Secretariats save files from Word, Notepad and mail clients: all must read alike."""
    text = SEED.read_text(encoding="utf-8")
    assert parse_bytes(encode(text), source="seed") == seed


# --- translations of the seed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "language", "intros", "title_start", "operative"),
    [
        (
            "iom-1244-fr.txt",
            "fr",
            ("Le Conseil,", "Décide :"),
            "L’OIM ET LE DIALOGUE DE HAUT NIVEAU",
            [
                ("request", "Prier", "Directeur général"),
                ("request", "Prier en outre", "Directeur général"),
                ("affirm", "Affirmer", "États Membres"),
                ("encourage", "Encourager", "États Membres"),
                ("request", "Prier", "Président du Conseil de l’OIM"),
            ],
        ),
        (
            "iom-1244-es.txt",
            "es",
            ("El Consejo,", "Resuelve:"),
            "LA OIM Y EL DIÁLOGO DE ALTO NIVEL",
            [
                ("request", "Pedir", "Director General"),
                ("request", "Pedir además", "Director General"),
                ("affirm", "Afirmar", "Estados Miembros"),
                ("encourage", "Alentar", "Estados Miembros"),
                ("request", "Pedir", "Presidente del Consejo de la OIM"),
            ],
        ),
    ],
)
def test_translated_seed_reads_like_the_english(
    seed: ParsedResolution,
    fixture: str,
    language: str,
    intros: tuple[str, str],
    title_start: str,
    operative: list[tuple[str, str, str]],
) -> None:
    """The same resolution in French or Spanish yields the same lemmas and the same work."""
    parsed = parse_file(FIXTURES / fixture)
    assert parsed.language == language
    assert (parsed.preamble_intro, parsed.operative_intro) == intros
    assert parsed.title.startswith(title_start)
    assert _verbs(parsed.operative) == operative
    assert [p.verb for p in parsed.preambular] == [p.verb for p in seed.preambular]
    same = ("body", "number", "session", "session_roman", "meeting", "adopted_on", "symbol")
    assert [getattr(parsed, name) for name in same] == [getattr(seed, name) for name in same]
    assert parsed.work_uri == seed.work_uri
    assert parsed.expression_uri != seed.expression_uri


# --- UN style -------------------------------------------------------------------------------------

UN_FIXTURES = {
    "un-ga-en.md": {
        "number": "99/101",
        "symbol": "A/RES/99/101",
        "meeting": 54,
        "adopted_on": dt.date(2044, 12, 14),
        "language": "en",
        "title": "International Year of Tidal Observation, 2046",
        "preamble_intro": "The General Assembly,",
        "preambular": ["recall", "note", "be concerned", "welcome"],
        "operative": [
            ("decide", "Decides", None),
            ("invite", "Invites", "Member States and observers"),
            ("request", "Requests", "Secretary-General"),
            ("encourage", "Encourages", "Member States"),
            ("take note", "Takes note with appreciation", None),
            ("request", "Also requests", "Secretary-General"),
        ],
    },
    "un-ga-fr.txt": {
        "number": "99/102",
        "symbol": "A/RES/99/102",
        "meeting": 60,
        "adopted_on": dt.date(2044, 12, 15),
        "language": "fr",
        "title": "Coopération internationale pour la sauvegarde des phares historiques",
        "preamble_intro": "L’Assemblée générale,",
        "preambular": ["recall", "take note", "be aware"],
        "operative": [
            ("request", "Prie", "Secrétaire général"),
            ("call upon", "Engage", "États Membres"),
            ("urge", "Invite instamment", "États Membres"),
            ("request", "Prie en outre", "Secrétaire général"),
            ("welcome", "Se félicite", "États Membres"),
            ("decide", "Décide", None),
        ],
    },
    "un-ga-es.txt": {
        "number": "99/103",
        "symbol": "A/RES/99/103",
        "meeting": 62,
        "adopted_on": dt.date(2044, 12, 16),
        "language": "es",
        "title": "Día Internacional de los Archivos Mareográficos",
        "preamble_intro": "La Asamblea General,",
        "preambular": ["recall", "bear in mind", "recognize"],
        "operative": [
            ("decide", "Decide", None),
            ("invite", "Invita", "Estados Miembros y observadores"),
            ("request", "Pide", "Secretario General"),
            ("urge", "Insta encarecidamente", "Estados Miembros"),
            ("request", "Solicita también", "Secretario General"),
            ("take note", "Toma nota", None),
        ],
    },
}


@pytest.mark.parametrize("fixture", sorted(UN_FIXTURES))
def test_un_style_resolution_is_read(fixture: str) -> None:
    """UN resolutions use the third person, a symbol, a session in words and a closing line."""
    expected = UN_FIXTURES[fixture]
    parsed = parse_file(FIXTURES / fixture)
    assert parsed.body == "UN General Assembly"
    assert (parsed.session, parsed.session_roman, parsed.operative_intro) == (99, None, None)
    for name in ("number", "symbol", "meeting", "adopted_on", "language", "title"):
        assert getattr(parsed, name) == expected[name], name
    assert parsed.preamble_intro == expected["preamble_intro"]
    assert [p.verb for p in parsed.preambular] == expected["preambular"]
    assert _verbs(parsed.operative) == expected["operative"]
    number = str(expected["number"]).replace("/", "-")
    assert parsed.work_uri == f"/akn/un/statement/deliberation/unga/{parsed.adopted_on}/{number}"


@pytest.mark.parametrize("fixture", ["un-ga-en.md", "un-ga-fr.txt", "un-ga-es.txt"])
def test_sub_paragraphs_nest_roman_under_letters(fixture: str) -> None:
    """Sub-paragraph (i) after (b) belongs to (b) and (c) closes it, on own lines or inline."""
    op2 = parse_file(FIXTURES / fixture).operative[1]
    point = "para_2__list_1__point_"
    assert _tree(op2.subparagraphs) == [
        ("a", point + "a", []),
        (
            "b",
            point + "b",
            [
                ("i", point + "b__list_1__point_i", []),
                ("ii", point + "b__list_1__point_ii", []),
            ],
        ),
        ("c", point + "c", []),
    ]
    assert op2.text.endswith(":")
    assert "(a)" not in op2.text and "a)" not in op2.text.split()


def test_inline_sub_paragraphs_after_a_colon_are_split() -> None:
    """Drafters often run "(a)…; (b)…" into one line; each item is still its own obligation."""
    op4 = parse_file(FIXTURES / "un-ga-en.md").operative[3]
    assert op4.text == (
        "Encourages Member States to share good practices on the preservation of tide records:"
    )
    assert [(s.num, s.text) for s in op4.subparagraphs] == [
        ("a", "by digitizing paper ledgers;"),
        ("b", "by training archivists, including:"),
        ("c", "by publishing inventories of their holdings;"),
    ]
    assert [s.text for s in op4.subparagraphs[1].subparagraphs] == [
        "in the care of damaged ledgers;",
        "in metadata standards;",
    ]


def test_wrapped_paragraphs_are_joined_and_hyphen_breaks_kept() -> None:
    """Text wrapped at 80 columns must read as the sentence it is, "High-level" included."""
    text = (
        "The Council,\n\nRecalling its earlier decisions on the High-\nlevel Dialogue,\n\n"
        "1. Requests the Director General to report\n   to the Council\nat its next session;\n"
    )
    parsed = parse_text(text)
    assert (
        parsed.preambular[0].text == "Recalling its earlier decisions on the High-level Dialogue,"
    )
    assert parsed.operative[0].text == (
        "Requests the Director General to report to the Council at its next session;"
    )


def test_stray_blank_line_inside_a_paragraph_does_not_split_it() -> None:
    """A line in lower case after a blank line continues the paragraph above it."""
    text = (
        "The Council,\n\nNoting the report\n\nof the Director General,\n\n"
        "1. Decides to convene a meeting\n\nin due course.\n"
    )
    parsed = parse_text(text)
    assert [p.text for p in parsed.preambular] == ["Noting the report of the Director General,"]
    assert parsed.operative[0].text == "Decides to convene a meeting in due course."
    assert parsed.operative[0].addressee is None


def test_markdown_heading_title_and_bold_variants() -> None:
    """Titles come bold, as headings or as __bold__; all give the same clean title."""
    for title_line in ("# A Test Title", "**A Test Title**", "__A Test Title__"):
        text = (
            f"COUNCIL\n\nRESOLUTION No. 7\n\n{title_line}\n\nThe Council,\n\n1. Decides to act.\n"
        )
        parsed = parse_text(text)
        assert parsed.title == "A Test Title"
        assert parsed.number == "7"


def test_unknown_operative_verb_is_not_an_error() -> None:
    """A paragraph we cannot classify still becomes an obligation (generic playbook)."""
    parsed = parse_text("1. Proclaims the day of the fixture.\n")
    paragraph = parsed.operative[0]
    assert (paragraph.verb, paragraph.verb_text, paragraph.addressee) == (None, None, None)
    assert paragraph.text == "Proclaims the day of the fixture."
    assert parsed.body == "" and parsed.number == ""


# --- the lexicon ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "lemma", "written"),
    [
        ("Requests the Secretary-General to", "en", "request", "Requests"),
        ("*Further request* the Director General", "en", "request", "Further request"),
        ("Further requests the Secretary-General", "en", "request", "Further requests"),
        ("Also requests the Secretary-General", "en", "request", "Also requests"),
        ("Strongly urges all States", "en", "urge", "Strongly urges"),
        ("Once again calls upon States", "en", "call upon", "Once again calls upon"),
        ("Calls upon Member States", "en", "call upon", "Calls upon"),
        ("TAKES NOTE of the report", "en", "take note", "TAKES NOTE"),
        ("Take note of the report", "en", "take note", "Take note"),
        (
            "Expresses its appreciation to",
            "en",
            "express appreciation",
            "Expresses its appreciation",
        ),
        ("Authorises the Bureau", "en", "authorize", "Authorises"),
        ("Reaffirms its commitment", "en", "reaffirm", "Reaffirms"),
        ("Prie le Secrétaire général", "fr", "request", "Prie"),
        ("Prie également le Secrétaire général", "fr", "request", "Prie également"),
        ("Invite instamment les États", "fr", "urge", "Invite instamment"),
        ("Invite les États", "fr", "invite", "Invite"),
        ("Prend note du rapport", "fr", "take note", "Prend note"),
        ("Se félicite de", "fr", "welcome", "Se félicite"),
        ("Accueille avec satisfaction le rapport", "fr", "welcome", "Accueille avec satisfaction"),
        ("Remercie le Gouvernement", "fr", "thank", "Remercie"),
        ("De prier le Directeur général de", "fr", "request", "prier"),
        ("Pide además al Secretario General", "es", "request", "Pide además"),
        ("Insta encarecimente a los Estados", "es", "urge", "Insta encarecimente"),
        ("Acoge con beneplácito el informe", "es", "welcome", "Acoge con beneplácito"),
        ("Expresa su reconocimiento a", "es", "express appreciation", "Expresa su reconocimiento"),
        ("Toma nota del informe", "es", "take note", "Toma nota"),
    ],
)
def test_operative_verbs_are_lemmatised_to_english(
    text: str, language: str, lemma: str, written: str
) -> None:
    """Rules in config/playbooks.yaml name English lemmas whatever the document's language."""
    paragraph = parse_text(f"1. {text} to act.\n").operative[0]
    assert (paragraph.verb, paragraph.verb_text) == (lemma, written)
    found = match_verb(text.replace("*", ""), language)
    assert found is not None and found.lemma == lemma


@pytest.mark.parametrize(
    ("text", "lemma"),
    [
        ("Taking note of", "take note"),
        ("Prenant note de", "take note"),
        ("Tomando nota de", "take note"),
        ("Recalling its", "recall"),
        ("Rappelant sa", "recall"),
        ("Recordando su", "recall"),
        ("Bearing in mind", "bear in mind"),
        ("Ayant à l’esprit", "bear in mind"),
        ("Teniendo presente", "bear in mind"),
        ("Recognizing the", "recognize"),
        ("Reconnaissant la", "recognize"),
        ("Reconociendo la", "recognize"),
        ("Noting that", "note"),
        ("Notant que", "note"),
        ("Observando que", "note"),
        ("Aware of", "be aware"),
        ("Consciente de", "be aware"),
        ("Reaffirming its", "reaffirm"),
        ("Réaffirmant sa", "reaffirm"),
        ("Reafirmando su", "reaffirm"),
        ("Welcoming the", "welcome"),
        ("Se félicitant de", "welcome"),
        ("Acogiendo con beneplácito", "welcome"),
        ("Gravely concerned", "be concerned"),
        ("Préoccupée par", "be concerned"),
        ("Preocupada por", "be concerned"),
        ("Emphasizing the", "emphasize"),
    ],
)
def test_preambular_participles_in_three_languages(text: str, lemma: str) -> None:
    """Preambular paragraphs start on a new line with a participle, blank line or not."""
    parsed = parse_text(f"The Council,\nFirst line of nothing,\n{text} the matter,\n1. Decides.\n")
    assert parsed.preambular[-1].verb == lemma
    assert parsed.preambular[-1].text == f"{text} the matter,"


@pytest.mark.parametrize(
    ("text", "language", "addressee"),
    [
        ("Request the Director General to keep", "en", "Director General"),
        ("Requests the Secretary-General to submit", "en", "Secretary-General"),
        ("Encourage Member States to reflect", "en", "Member States"),
        ("Invites all Member States and observers to join", "en", "Member States and observers"),
        (
            "Request the Chairperson of the IOM Council to forward",
            "en",
            "Chairperson of the IOM Council",
        ),
        ("Urges Member States, in particular donors, to", "en", "Member States"),
        ("Decides to convene a meeting", "en", None),
        ("Takes note of the report of the Secretary-General", "en", None),
        ("Welcomes the efforts of Member States to", "en", "Member States"),
        ("Prie le Directeur général de tenir", "fr", "Directeur général"),
        ("Prie le Secrétaire général de lui présenter", "fr", "Secrétaire général"),
        ("Demande aux États Membres de prendre", "fr", "États Membres"),
        ("Engage tous les États à adopter", "fr", "États"),
        ("Pide al Secretario General que presente", "es", "Secretario General"),
        ("Exhorta a los Estados a adoptar", "es", "Estados"),
        ("Invita al Director General a participar", "es", "Director General"),
    ],
)
def test_addressee_is_the_noun_phrase_without_its_article(
    text: str, language: str, addressee: str | None
) -> None:
    """The addressee decides who is asked to act and who receives the notices."""
    found = match_verb(text, language)
    assert found is not None
    assert find_addressee(text, found, language) == addressee


def test_declaratory_lemmas() -> None:
    """Declaratory paragraphs are recorded; directive ones are chased until done."""
    declaratory = {
        "affirm", "reaffirm", "welcome", "take note", "note", "recognize",
        "express appreciation", "emphasize", "stress", "recall",
    }  # fmt: skip
    for lemma in declaratory:
        assert is_declaratory(lemma), lemma
    for lemma in ("request", "urge", "encourage", "invite", "decide", "call upon", "approve"):
        assert not is_declaratory(lemma), lemma
    assert not is_declaratory("no such lemma")
    assert declaratory <= set(LEMMAS)


# --- header metadata ----------------------------------------------------------------------------


def _with_header(header: str) -> ParsedResolution:
    return parse_text(f"{header}\n\nThe Council,\n\n1. Decides to act.\n")


@pytest.mark.parametrize(
    ("header", "session", "roman", "number"),
    [
        ("101ST SESSION\n\nRESOLUTION No. 1244 (CI)", 101, "CI", "1244"),
        ("101e SESSION\n\nRésolution n° 1244 (CI)", 101, "CI", "1244"),
        ("101º PERÍODO DE SESIONES\n\nResolución N° 1244 (CI)", 101, "CI", "1244"),
        ("RESOLUTION No. 1244 (CI)", 101, "CI", "1244"),
        ("Sixty-seventh session\n\nResolution 67/219", 67, None, "67/219"),
        ("One hundred and first session\n\nA/RES/101/5", 101, None, "101/5"),
        ("Cent unième session", 101, None, ""),
        ("Sexagésimo séptimo período de sesiones", 67, None, ""),
        ("S/RES/2250 (2015)", None, None, "2250"),
    ],
)
def test_session_number_and_roman_numeral(
    header: str, session: int | None, roman: str | None, number: str
) -> None:
    """Sessions appear as ordinals, words or Roman numerals; all mean one number."""
    parsed = _with_header(header)
    assert (parsed.session, parsed.session_roman, parsed.number) == (session, roman, number)


def test_roman_numeral_that_contradicts_the_session_is_an_error() -> None:
    """(CII) is the 102nd session: registering it as the 101st would misfile the resolution."""
    with pytest.raises(ResolutionParseError) as caught:
        parse_text("101ST SESSION\n\nRESOLUTION No. 1244 (CII)\n\nThe Council,\n\n1. Decides.\n")
    assert caught.value.line == 3
    assert "CII" in caught.value.reason and "101" in caught.value.reason


def test_malformed_roman_numeral_is_an_error() -> None:
    """A numeral such as (IIII) names no session at all; better to say so than to guess."""
    with pytest.raises(ResolutionParseError, match=r"invalid Roman numeral \(IIII\)"):
        _with_header("RESOLUTION No. 5 (IIII)")


@pytest.mark.parametrize(
    ("line", "date", "meeting"),
    [
        ("(Adopted by the Council at its 523rd meeting on 27 November 2012)", "2012-11-27", 523),
        ("(Adoptée par le Conseil à sa 523e séance, le 1er mars 2012)", "2012-03-01", 523),
        ("(Aprobada en su 523ª sesión, el 27 de noviembre de 2012)", "2012-11-27", 523),
        ("Adopted on November 27, 2012", "2012-11-27", None),
        ("Adopted on 2012-11-27 at the 3rd meeting", "2012-11-27", 3),
    ],
)
def test_adoption_date_and_meeting(line: str, date: str, meeting: int | None) -> None:
    """Deadlines count from the adoption date, in whichever language it is written."""
    parsed = _with_header(line)
    assert parsed.adopted_on == dt.date.fromisoformat(date)
    assert parsed.meeting == meeting


def test_impossible_date_is_an_error_at_its_line() -> None:
    """A deadline computed from 31 February would be silently wrong."""
    with pytest.raises(ResolutionParseError) as caught:
        _with_header("COUNCIL\n\n(Adopted on 31 February 2012)")
    assert caught.value.line == 3
    assert caught.value.reason == "invalid date: '31 february 2012'"


@pytest.mark.parametrize(
    ("intro", "body"),
    [
        ("The General Assembly,", "UN General Assembly"),
        ("L’Assemblée générale,", "UN General Assembly"),
        ("El Consejo de Seguridad,", "UN Security Council"),
        ("The Human Rights Council,", "Human Rights Council"),
        ("Le Conseil économique et social,", "UN Economic and Social Council"),
        ("The Conference of the Parties,", "Conference of the Parties"),
    ],
)
def test_body_is_canonical_english(intro: str, body: str) -> None:
    """One body, one name: a French and an English resolution of the same body match up."""
    assert parse_text(f"{intro}\n\n1. Decides to act.\n").body == body


# --- bad input ----------------------------------------------------------------------------------


def _error(data: bytes) -> ResolutionParseError:
    with pytest.raises(ResolutionParseError) as caught:
        parse_bytes(data, source="in.txt")
    return caught.value


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "empty file"),
        (b" \n\n\t\n", None, "empty file"),
        (codecs.BOM_UTF8, None, "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "binary file"),
        (b"1. Decides\n\x00\x01", 2, "binary file"),
        (b"The Council,\n1. D\xe9cide de tout.\n", 2, "not UTF-8 text (byte 0xe9 at line 2)"),
        (codecs.BOM_UTF32_LE + "1. Decides".encode("utf-32-le"), 1, "unsupported encoding"),
        (b"The Council,\n\nNoting all this,\n", None, "no operative paragraphs found"),
        (
            b"1. Decides.\n2. Requests.\n3. Urges.\n3. Urges again.\n",
            4,
            "duplicate paragraph number 3",
        ),
        (
            b"1. Decides.\n\n2. Requests.\n\n4. Urges.\n",
            5,
            "paragraph 4 follows 2: paragraph 3 is missing",
        ),
        (b"2. Decides.\n", 1, "the first paragraph is numbered 2: paragraph 1 is missing"),
        (b"1. Decides.\nabc\x07def\n", 2, "binary file (control character U+0007)"),
        (b'<?xml version="1.0"?>\n<akomaNtoso>\n<statement>\n</akomaNtoso>', 4, "malformed XML"),
    ],
)
def test_bad_input_names_source_line_and_reason(data: bytes, line: int | None, reason: str) -> None:
    """The CLI prints this one line and exits 2: it must say where and what, and nothing else."""
    error = _error(data)
    assert error.source == "in.txt"
    assert error.line == line
    assert error.reason.startswith(reason)
    expected = f"in.txt:{line}: " if line is not None else "in.txt: "
    assert str(error).startswith(expected + reason)
    assert "\n" not in str(error)


def test_missing_or_unreadable_file_is_a_parse_error(tmp_path: Path) -> None:
    """A typo in a path is bad input (exit 2), not a crash."""
    for path in (tmp_path / "missing.txt", tmp_path, tmp_path / "nul\x00byte.txt"):
        with pytest.raises(ResolutionParseError) as caught:
            parse_file(path)
        assert caught.value.source == str(path)
        assert caught.value.reason.startswith("cannot read file")


def test_parse_file_accepts_str_paths_and_keeps_them_as_source() -> None:
    """Errors name the file as the user typed it."""
    assert parse_file(str(SEED)).number == "1244"
    with pytest.raises(ResolutionParseError, match=r"^relative/none\.txt: cannot read file"):
        parse_file("relative/none.txt")


def test_parse_error_is_bad_input_that_pickles() -> None:
    """Prefect ships task exceptions between processes; the details must survive, and the CLI
    and the web must answer it as bad input (exit 2, 4xx), not as a bug."""
    error = ResolutionParseError("a.txt", 3, "duplicate paragraph number 3")
    assert isinstance(error, Invalid) and error.exit_code == 2
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.line, copy.reason, str(copy)) == (
        "a.txt",
        3,
        "duplicate paragraph number 3",
        "a.txt:3: duplicate paragraph number 3",
    )
    assert str(ResolutionParseError("x\ny", None, "two\nlines")) == "x y: two lines"


def test_parse_bytes_routes_akoma_ntoso_to_the_xml_reader(seed: ParsedResolution) -> None:
    """`operative ingest` takes text or XML alike; the file's content decides."""
    xml = to_akn(seed)
    assert parse_bytes(xml, source="x.xml") == seed
    assert parse_bytes(xml.decode().encode("utf-16"), source="x.xml") == seed
    assert parse_text(xml.decode(), source="x.xml") == seed


# --- robustness -------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "",
        "The Council,",
        "L’Assemblée générale,",
        "Resolves to:",
        "RESOLUTION No. 12 (XII)",
        "12th session",
        "**Bold title",
        "spanning lines**",
        "# Heading",
        "Taking note of it,",
        "Recordando su resolución,",
        "1. *Request* the Director General to act;",
        "2. Prie le Secrétaire général de lui présenter:",
        "3. Pide al Secretario General que: (a) uno; (b) dos",
        "(a) To do this;",
        "(i) In part;",
        "b) Otro;",
        "continued in lower case",
        "Adopted on 3 March 2001",
        "54th plenary meeting",
        "A/RES/1/2",
        "  ",
    ]
)
_TEXTS = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=25).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_any_text_parses_or_raises_a_parse_error_and_round_trips(text: str) -> None:
    """Whatever is uploaded, the parser answers with a resolution or one clean error."""
    try:
        parsed = parse_text(text, source="fuzz")
    except ResolutionParseError as error:
        assert "\n" not in str(error)
        return
    assert parsed.operative
    assert from_akn(to_akn(parsed), source="fuzz") == parsed
    assert re.fullmatch(r"[0-9a-f]{64}", parsed.content_hash)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_raise_a_parse_error(data: bytes) -> None:
    """Binary uploads, truncated files and stray XML all end in a ResolutionParseError."""
    with contextlib.suppress(ResolutionParseError):
        parse_bytes(data, source="fuzz")
