"""Reading a resolution's header: body, number, session, meeting, adoption date, symbol, title.

The header is everything above the preamble: an IOM page head ("COUNCIL", "101ST SESSION",
"RESOLUTION No. 1244 (CI)", "(Adopted by the Council at its 523rd meeting on 27 November
2012)") or a UN document head ("A/RES/67/219", "Sixty-seventh session", "Resolution adopted by
the General Assembly on 21 December 2012", "67/219. International migration and
development"), in English, French or Spanish. UN resolutions name the meeting and date again
after the last paragraph; those lines are read too.

Bodies are kept in one canonical English form ("IOM Council", "UN General Assembly") whatever
the language, so the same resolution in three languages is registered once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from operative.resolution import markup
from operative.resolution.lexicon import fold
from operative.resolution.model import Header, ResolutionParseError

Line = tuple[int, str]
Block = Sequence[Line]

# --- Roman numerals and ordinals --------------------------------------------------------------

_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_to_int(numeral: str) -> int | None:
    """The value of a well-formed Roman numeral ("CI" -> 101), else None ("IIII")."""
    if not numeral or not _ROMAN.fullmatch(numeral):
        return None
    total = 0
    for index, char in enumerate(numeral):
        value = _ROMAN_VALUES[char]
        following = _ROMAN_VALUES[numeral[index + 1]] if index + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total


# Number words, folded (no accents, lower case): enough for session ordinals in the three
# languages ("sixty-seventh", "cent unième", "centésimo primer"). 100 multiplies what precedes.
_NUMBER_WORDS = {
    word: value
    for value, words in {
        1: "one first un une unieme premier premiere primer primero primera",
        2: "two second deux deuxieme second seconde segundo segunda",
        3: "three third trois troisieme tercer tercero tercera",
        4: "four fourth quatre quatrieme cuarto cuarta",
        5: "five fifth cinq cinquieme quinto quinta",
        6: "six sixth sixieme sexto sexta",
        7: "seven seventh sept septieme septimo septima",
        8: "eight eighth huit huitieme octavo octava",
        9: "nine ninth neuf neuvieme noveno novena nono",
        10: "ten tenth dix dixieme decimo decima",
        11: "eleven eleventh onze onzieme undecimo decimoprimero",
        12: "twelve twelfth douze douzieme duodecimo decimosegundo",
        13: "thirteenth treizieme decimotercero decimotercer",
        14: "fourteenth quatorzieme decimocuarto",
        15: "fifteenth quinzieme decimoquinto",
        16: "sixteenth seizieme decimosexto",
        17: "seventeenth decimoseptimo",
        18: "eighteenth decimoctavo",
        19: "nineteenth decimonoveno",
        20: "twenty twentieth vingt vingtieme vigesimo",
        30: "thirty thirtieth trente trentieme trigesimo",
        40: "forty fortieth quarante quarantieme cuadragesimo",
        50: "fifty fiftieth cinquante cinquantieme quincuagesimo",
        60: "sixty sixtieth soixante soixantieme sexagesimo",
        70: "seventy seventieth septuagesimo",
        80: "eighty eightieth octogesimo",
        90: "ninety ninetieth nonagesimo",
        100: "hundred hundredth cent centieme centesimo",
    }.items()
    for word in words.split()
}
_CONNECTORS = {"and", "et", "y"}


def words_to_number(words: Sequence[str]) -> int | None:
    """The value of folded number words, or None if any word is not one."""
    total = 0
    index = 0
    while index < len(words):
        word = words[index]
        if word in _CONNECTORS:
            index += 1
            continue
        # French counts eighty as four twenties: "quatre-vingt-dix-neuvième" is 80 + 19.
        if word == "quatre" and index + 1 < len(words) and words[index + 1].startswith("vingt"):
            total += 80
            index += 2
            continue
        value = _NUMBER_WORDS.get(word)
        if value is None:
            return None
        total = max(total, 1) * 100 if value == 100 else total + value
        index += 1
    return total or None


# --- patterns ---------------------------------------------------------------------------------

_ORDINAL_SUFFIX = r"(?:st|nd|rd|th|e|er|re|ème|eme|º|ª|°|\.º|\.ª|o|a)?\.?"
_SESSION_NOUN = r"(?:session|per[ií]odo\s+de\s+sesiones)"
_SESSION_NUMERIC = re.compile(
    rf"\b(\d{{1,4}}){_ORDINAL_SUFFIX}\s+(?:(?:regular|special|ordinary|ordinaire|"
    rf"extraordinaire|ordinario|extraordinario)\s+)?{_SESSION_NOUN}\b",
    re.I,
)
_SESSION_WORDS = re.compile(rf"\b((?:[^\W\d_]+[\s-]+){{1,6}}){_SESSION_NOUN}\b", re.I)
_MEETING = re.compile(
    rf"\b(\d{{1,5}}){_ORDINAL_SUFFIX}\s+(?:plenary\s+)?(?:meeting|s[ée]ance|sesi[oó]n)\b", re.I
)
_NUMBER = re.compile(
    r"\b(?:resolution|r[ée]solution|resoluci[oó]n)\s+"
    r"(?:(?:no|n[°º]|n\.[°º]|nº|n|núm|num)\.?\s*)?"
    r"(\d{1,6}(?:/\d{1,6})?(?:\s*\([A-Z]+\))?)(?![\w/])",
    re.I,
)
_UN_NUMBER_TITLE = re.compile(r"^(\d{1,4}/\d{1,6})\.\s+(.+)$")
_SYMBOL = re.compile(
    r"(?<![\w/])([AES](?:/[A-Z]{1,8})*/RES/\d{1,6}(?:/\d{1,6})?)(?:\s*\((\d{4})\))?"
)
_ROMAN_IN_NUMBER = re.compile(r"\(([A-Z]+)\)")
_ADOPTED = re.compile(r"\b(?:adopt|aprobad|approuv)", re.I)
_BOILERPLATE = re.compile(
    r"^(?:distr\b|original\s*:|agenda item|point \d+ de l['\u2019]ordre du jour|"
    r"tema \d+ del programa|\[.*\]|\(.*\)|"
    r"(?:united nations|nations unies|naciones unidas)(?:\s+[AES]/\S*)?$)",
    re.I,
)

_MONTH_NAMES = (
    "january february march april may june july august september october november december",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
)
_MONTHS = {
    name: number for names in _MONTH_NAMES for number, name in enumerate(names.split(), start=1)
} | {"setiembre": 9}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    # 27 November 2012 / 27 novembre 2012 / 1er mars 2012 / 27 de noviembre de 2012
    re.compile(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?:de\s+)?({_MONTH})\s*,?\s+(?:de\s+|del\s+)?(\d{{4}})\b"
    ),
    # November 27, 2012
    re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})\b"),
    # 2012-11-27
    re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
)


def find_date(line: str, where: Line, source: str) -> dt.date | None:
    """The first date written in ``line``; an impossible one (31 February) is an error."""
    folded = fold(line)
    for kind, pattern in enumerate(_DATE_PATTERNS):
        match = pattern.search(folded)
        if match is None:
            continue
        if kind == 0:
            day, month, year = int(match.group(1)), _MONTHS[match.group(2)], int(match.group(3))
        elif kind == 1:
            day, month, year = int(match.group(2)), _MONTHS[match.group(1)], int(match.group(3))
        else:
            year, month, day = (int(group) for group in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise ResolutionParseError(
                source, where[0], f"invalid date: {match.group(0)!r}"
            ) from None
    return None


def find_session(line: str) -> int | None:
    """A session number written as "101ST SESSION", "101e session" or "Sixty-seventh session"."""
    numeric = _SESSION_NUMERIC.search(line)
    if numeric:
        return int(numeric.group(1))
    for match in _SESSION_WORDS.finditer(line):
        words = [fold(word) for word in re.split(r"[\s-]+", match.group(1)) if word]
        # The longest run of number words just before "session": "at its sixty-seventh session".
        for start in range(len(words)):
            value = words_to_number(words[start:])
            if value is not None:
                return value
    return None


def find_meeting(line: str) -> int | None:
    match = _MEETING.search(line)
    return int(match.group(1)) if match else None


def find_symbol(line: str) -> tuple[str, str] | None:
    """A UN document symbol and the resolution number it carries ("A/RES/67/219" -> "67/219")."""
    match = _SYMBOL.search(line)
    if match is None:
        return None
    symbol = match.group(1) + (f" ({match.group(2)})" if match.group(2) else "")
    return symbol, match.group(1).split("/RES/", 1)[1]


# --- bodies -----------------------------------------------------------------------------------

_BODIES = {
    "general assembly": "UN General Assembly",
    "assemblee generale": "UN General Assembly",
    "asamblea general": "UN General Assembly",
    "security council": "UN Security Council",
    "conseil de securite": "UN Security Council",
    "consejo de seguridad": "UN Security Council",
    "human rights council": "Human Rights Council",
    "conseil des droits de l'homme": "Human Rights Council",
    "consejo de derechos humanos": "Human Rights Council",
    "economic and social council": "UN Economic and Social Council",
    "conseil economique et social": "UN Economic and Social Council",
    "consejo economico y social": "UN Economic and Social Council",
    "iom council": "IOM Council",
    "conseil de l'oim": "IOM Council",
    "consejo de la oim": "IOM Council",
}
_COUNCIL = {"council", "conseil", "consejo"}
_IOM_NAME = (
    r"international organization for migration|organisation internationale pour les migrations|"
    r"organizacion internacional para las migraciones"
)
_IOM = re.compile(rf"\b(?:iom|oim)\b|{_IOM_NAME}")
# The organization's name on its own, as on IOM's trilingual page head.
_IOM_LINE = re.compile(rf"(?:(?:iom|oim)\s*)?(?:{_IOM_NAME})?")
_BODY_PREFIX = re.compile(
    r"^(?:the|le|la|les|el)\s+|^l'\s*|^(?:united nations|nations unies|naciones unidas)\s+"
)


def _body_key(text: str) -> str:
    key = " ".join(fold(text).strip(" ,.:;").split())
    previous = None
    while previous != key:
        previous, key = key, _BODY_PREFIX.sub("", key)
    return key


def body_name(text: str, iom: bool) -> str | None:
    """The canonical body a heading or an intro names ("The General Assembly," -> "UN General
    Assembly"), or None if the text is not just a body's name."""
    key = _body_key(text)
    if key in _BODIES:
        return _BODIES[key]
    if key in _COUNCIL:
        return "IOM Council" if iom else text.strip(" ,.:;")
    return None


def intro_subject(intro: str) -> str:
    """What an intro names, as written: "The Conference of the Parties," -> "Conference of the
    Parties"."""
    return re.sub(r"^(?:The|Le|La|Les|El|Los|Las|L['\u2019])\s*", "", intro.strip(" ,.:;"))


# --- the header as a whole ----------------------------------------------------------------------


@dataclass
class _Found:
    """What the header's lines have said so far; the first mention of each thing wins."""

    number: tuple[str, Line] | None = None
    roman: tuple[str, Line] | None = None
    session: int | None = None
    meeting: int | None = None
    adopted: dt.date | None = None
    other_date: dt.date | None = None
    symbol: str | None = None
    symbol_number: str | None = None
    un_title: str | None = None
    heading_body: str | None = None
    number_block: int | None = None
    titles: list[tuple[int, str, bool]] = field(default_factory=list)  # (block, title, marked up)


def _read_line(line: Line, found: _Found, source: str) -> bool:
    """Record what one header line says; whether it said anything (it is then not a title)."""
    text = markup.plain(line[1])
    # Every reader runs, in this order: a line may name the session and the date at once.
    said = [
        _read_number(text, line, found),
        _read_symbol(text, found),
        _read_session_and_meeting(text, found),
        _read_date(text, line, found, source),
    ]
    return any(said) or bool(_BOILERPLATE.match(text))


def _read_number(text: str, line: Line, found: _Found) -> bool:
    """The resolution number ("No. 1244 (CI)", "67/219. Title"); whether a number line said it."""
    number = _NUMBER.search(text)
    if number and found.number is None:
        value = number.group(1)
        found.number = (value.split("(")[0].strip(), line)
        roman = _ROMAN_IN_NUMBER.search(value)
        if roman:
            found.roman = (roman.group(1), line)
    un_title = _UN_NUMBER_TITLE.match(text)
    if un_title and found.number is None:
        found.number = (un_title.group(1), line)
    return number is not None


def _read_symbol(text: str, found: _Found) -> bool:
    """The document symbol ("A/RES/67/219") and the number it carries."""
    symbol = find_symbol(text)
    if symbol and found.symbol is None:
        found.symbol, found.symbol_number = symbol
    return symbol is not None


def _read_session_and_meeting(text: str, found: _Found) -> bool:
    """The session ("101st session") and the meeting ("523rd meeting") a line names."""
    session, meeting = find_session(text), find_meeting(text)
    if found.session is None:
        found.session = session
    if found.meeting is None:
        found.meeting = meeting
    return session is not None or meeting is not None


def _read_date(text: str, line: Line, found: _Found, source: str) -> bool:
    """A date: the adoption date if the line says adopted, else kept as a fallback."""
    date = find_date(text, line, source)
    if date is None:
        return False
    if _ADOPTED.search(text):
        found.adopted = found.adopted or date
    else:
        found.other_date = found.other_date or date
    return True


def _names_body(line: Line, found: _Found, iom: bool) -> bool:
    """Whether a line names the adopting body ("COUNCIL", "General Assembly"); the first is kept."""
    text = markup.plain(line[1])
    named = body_name(text, iom)
    if named or (text and _IOM_LINE.fullmatch(fold(text))):
        found.heading_body = found.heading_body or named
        return True
    return False


def _read_block(index: int, block: Block, found: _Found, iom: bool, source: str) -> None:
    """Record what one header block says; a block that says nothing else may be the title."""
    said = False
    for line in block:
        said = _read_line(line, found, source) or said
        said = _names_body(line, found, iom) or said
    if found.number is not None and found.number_block is None:
        found.number_block = index
    _read_title(index, block, found, said)


def _read_title(index: int, block: Block, found: _Found, said: bool) -> None:
    """The UN "67/219. Title" block, or a block that said nothing else: a title candidate."""
    un_title = _UN_NUMBER_TITLE.match(markup.plain(block[0][1]))
    if un_title and found.un_title is None:
        rest = [un_title.group(2), *(markup.plain(text) for _, text in block[1:])]
        found.un_title = markup.normalise(" ".join(rest))
    elif not said:
        raw = "\n".join(text for _, text in block)
        marked = markup.is_bold_block(raw) or markup.heading(block[0][1]) is not None
        found.titles.append((index, markup.plain(raw), marked))


def _read_trailer(block: Block, found: _Found, source: str) -> None:
    """The meeting and adoption date UN resolutions give after the last paragraph."""
    for line in block:
        text = markup.plain(line[1])
        if found.meeting is None:
            found.meeting = find_meeting(text)
        date = find_date(text, line, source)
        if found.adopted is None:
            found.adopted = date


def read_header(
    blocks: Sequence[Block], intro: str | None, trailer: Sequence[Block], source: str
) -> Header:
    """Everything the header (and the UN trailer) says about the resolution."""
    found = _Found()
    iom = any(_IOM.search(fold(text)) for block in blocks for _, text in block)
    for index, block in enumerate(blocks):
        _read_block(index, block, found, iom, source)
    for block in trailer:
        _read_trailer(block, found, source)
    session, roman = _session(found, source)
    number = found.number[0] if found.number else (found.symbol_number or "")
    return Header(
        body=_body(intro, found.heading_body, iom),
        number=markup.normalise(number),
        session=session,
        session_roman=roman,
        meeting=found.meeting,
        adopted_on=found.adopted or found.other_date,
        title=_title(found.titles, found.un_title, found.number_block),
        symbol=found.symbol,
    )


def _body(intro: str | None, heading_body: str | None, iom: bool) -> str:
    """The body the intro names, else the one a heading names, else the intro's subject."""
    if not intro:
        return heading_body or ""
    return body_name(intro, iom) or heading_body or intro_subject(intro)


def _session(found: _Found, source: str) -> tuple[int | None, str | None]:
    """The session, cross-checked with the Roman numeral after the number when both are given."""
    if found.roman is None:
        return found.session, None
    numeral, line = found.roman
    value = roman_to_int(numeral)
    if value is None:
        raise ResolutionParseError(source, line[0], f"invalid Roman numeral ({numeral})")
    if found.session is not None and found.session != value:
        raise ResolutionParseError(
            source,
            line[0],
            f"session numeral ({numeral}) is session {value} but the header says session "
            f"{found.session}",
        )
    return value, numeral


def _title(
    candidates: list[tuple[int, str, bool]], un_title: str | None, number_block: int | None
) -> str:
    """Bold or heading markup first, then the UN "67/219. Title" line, then the first plain
    block after the number line, then any plain block."""
    marked = next((text for _, text, is_marked in candidates if is_marked and text), "")
    return marked or un_title or _plain_title(candidates, number_block)


def _plain_title(candidates: list[tuple[int, str, bool]], number_block: int | None) -> str:
    """The first plain block after the number line, else the first plain block at all."""
    after = [
        text for index, text, _ in candidates if number_block is not None and index > number_block
    ]
    rest = after or [text for _, text, _ in candidates]
    return next((text for text in rest if text), "")
