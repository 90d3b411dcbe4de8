"""Akoma Ntoso 3.0 export and import of a parsed resolution (AKN4UN profile).

``to_akn`` writes a ``<statement name="resolution">`` and ``from_akn`` reads it back to an
equal ``ParsedResolution``. Everything the model holds sits in a standard AKN place:

* identification: FRBR Work/Expression/Manifestation IRIs (see ``naming``), the body as
  ``FRBRauthor`` pointing at a ``TLCOrganization``, the number in ``FRBRnumber``;
* preface: ``docAuthority`` (body), ``docNumber`` (number; ``refersTo="#symbol"`` for the UN
  symbol), ``session`` (``value`` = the number, text = the Roman numeral when there is one),
  ``inline name="meeting"``, ``docDate`` (adoption) and ``docTitle``;
* preamble: ``formula name="enactingFormula"`` ("The Council,"), one ``p`` per preambular
  paragraph, and ``formula name="resolvingFormula"`` ("Resolves to:");
* mainBody: ``paragraph``/``num``/``content`` (or ``intro`` + ``list``/``point`` for
  sub-paragraphs). The verb as written is an ``i`` whose ``refersTo`` names a ``TLCConcept``
  whose ``showAs`` is the lemma; the addressee is a ``role`` pointing at a ``TLCRole``.

Documents written elsewhere (e.g. by the UN's own AKN4UN tools) are read too: where the verb
and addressee are not marked up, they are found in the text as the text parser would.

The output is deterministic: the Manifestation date is the adoption date rather than today, so
exporting the same resolution twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from operative.resolution import markup, naming
from operative.resolution.header import body_name, find_meeting, roman_to_int
from operative.resolution.lexicon import find_addressee, match_verb
from operative.resolution.model import (
    Paragraph,
    ParsedResolution,
    ResolutionParseError,
    SubParagraph,
    check_numbering,
)

NS = naming.AKN_NS
_Q = f"{{{NS}}}"
_SOURCE = "operative"

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
}
_WORDS = {
    # (document type, adopted-at phrase, "on" before the date)
    "en": ("Resolution", "Adopted at the", "on"),
    "fr": ("Résolution", "Adoptée à la", "le"),
    "es": ("Resolución", "Aprobada en la", "el"),
}


def _ordinal(number: int, language: str) -> str:
    if language == "fr":
        return f"{number}e"
    if language == "es":
        return f"{number}.ª"
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _meeting_text(number: int, language: str) -> str:
    noun = {"fr": "séance", "es": "sesión"}.get(language, "meeting")
    return f"{_ordinal(number, language)} {noun}"


def _session_text(number: int, language: str) -> str:
    if language == "es":
        return f"{number}.º período de sesiones"
    return f"{_ordinal(number, language)} session"


def _date_text(date: dt.date, language: str) -> str:
    month = _MONTHS.get(language, _MONTHS["en"]).split()[date.month - 1]
    return (
        f"{date.day} de {month} de {date.year}"
        if language == "es"
        else f"{date.day} {month} {date.year}"
    )


# --- writing ------------------------------------------------------------------------------------


@dataclass
class _References:
    """The TLC entries the document points at, each under one unique eId."""

    entries: dict[tuple[str, str], str] = field(default_factory=dict)  # (tag, showAs) -> eId
    hrefs: dict[str, str] = field(default_factory=dict)  # eId -> href
    taken: set[str] = field(default_factory=set)

    def ref(self, tag: str, show_as: str, *, eid: str | None = None, kind: str = "") -> str:
        key = (tag, show_as)
        if key not in self.entries:
            base = eid or naming.camel(show_as) or tag.lower()
            candidate, counter = base, 1
            while candidate in self.taken:
                counter += 1
                candidate = f"{base}{counter}"
            self.taken.add(candidate)
            self.entries[key] = candidate
            self.hrefs[candidate] = f"/akn/ontology/{kind}/{naming.COUNTRY}/{candidate}"
        return f"#{self.entries[key]}"

    def write(self, parent: etree._Element) -> None:
        for (tag, show_as), eid in self.entries.items():
            _sub(parent, tag, eId=eid, href=self.hrefs[eid], showAs=show_as)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(
        parent, _Q + tag, {name.rstrip("_"): value for name, value in attrs.items()}
    )
    if text is not None:
        element.text = text
    return element


def _marked_text(parent: etree._Element, text: str, marks: list[tuple[int, int, str, str]]) -> None:
    """Write ``text`` into ``parent``, wrapping spans (start, end, tag, refersTo) in inlines."""
    position = 0
    last: etree._Element | None = None
    for start, end, tag, refers in sorted(marks):
        if start < position:
            continue
        chunk = text[position:start]
        if last is None:
            parent.text = (parent.text or "") + chunk
        else:
            last.tail = (last.tail or "") + chunk
        last = _sub(parent, tag, text[start:end], refersTo=refers)
        position = end
    rest = text[position:]
    if last is None:
        parent.text = (parent.text or "") + rest
    else:
        last.tail = (last.tail or "") + rest


def _paragraph_marks(paragraph: Paragraph, refs: _References) -> list[tuple[int, int, str, str]]:
    marks: list[tuple[int, int, str, str]] = []
    if paragraph.verb is None or not paragraph.verb_text:
        return marks
    start = paragraph.text.find(paragraph.verb_text)
    if start < 0:
        return marks
    end = start + len(paragraph.verb_text)
    concept = refs.ref(
        "TLCConcept", paragraph.verb, eid=naming.camel(f"verb {paragraph.verb}"), kind="concept"
    )
    marks.append((start, end, "i", concept))
    if paragraph.addressee:
        at = paragraph.text.find(paragraph.addressee, end)
        if at >= 0:
            role = refs.ref("TLCRole", paragraph.addressee, kind="role")
            marks.append((at, at + len(paragraph.addressee), "role", role))
    return marks


def _write_points(parent: etree._Element, items: tuple[SubParagraph, ...], owner: str) -> None:
    listing = _sub(parent, "list", eId=f"{owner}__list_1")
    for item in items:
        point = _sub(listing, "point", eId=item.eid)
        _sub(point, "num", f"({item.num})")
        if item.subparagraphs:
            _sub(_sub(point, "intro"), "p", item.text)
            _write_points(point, item.subparagraphs, item.eid)
        else:
            _sub(_sub(point, "content"), "p", item.text)


def to_akn(res: ParsedResolution) -> bytes:
    """The resolution as Akoma Ntoso 3.0 XML (UTF-8), readable again by ``from_akn``.

    Verb and addressee are marked where they stand in the paragraph's text, which is where
    the parser found them; values that do not occur in the text cannot be marked up.
    """
    refs = _References()
    refs.ref("TLCOrganization", _SOURCE, eid=_SOURCE, kind="organization")
    author = refs.ref(
        "TLCOrganization",
        res.body or "unknown",
        eid=naming.camel(res.body) or "body",
        kind="organization",
    )
    author_role = refs.ref("TLCRole", "Author", eid="author", kind="role")
    editor_role = refs.ref("TLCRole", "Editor", eid="editor", kind="role")
    number_ref = refs.ref("TLCConcept", "Resolution number", eid="resolutionNumber", kind="concept")
    symbol_ref = refs.ref("TLCConcept", "Document symbol", eid="symbol", kind="concept")

    root = etree.Element(_Q + "akomaNtoso", nsmap={None: NS})
    statement = _sub(root, "statement", name="resolution")
    meta = _sub(statement, "meta")
    _write_identification(meta, res, author, author_role, editor_role)
    references = _sub(meta, "references", source=f"#{_SOURCE}")
    _write_preface(_sub(statement, "preface"), res, author, number_ref, symbol_ref)
    # The paragraphs add the TLC entries of their verbs and addressees, in reading order.
    _write_preamble(statement, res, refs)
    _write_body(_sub(statement, "mainBody"), res, refs)
    refs.write(references)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _write_preface(
    preface: etree._Element, res: ParsedResolution, author: str, number_ref: str, symbol_ref: str
) -> None:
    """The preface: body, number and session, symbol, meeting and date, title."""
    doc_type, adopted_at, on = _WORDS.get(res.language, _WORDS["en"])
    _sub(_sub(preface, "p"), "docAuthority", res.body, refersTo=author)
    if res.number:
        _write_number(_sub(preface, "p"), res, doc_type, number_ref)
    if res.session is not None and not (res.number and res.session_roman):
        text = res.session_roman or _session_text(res.session, res.language)
        _sub(_sub(preface, "p"), "session", text, value=str(res.session))
    if res.symbol:
        _sub(_sub(preface, "p"), "docNumber", res.symbol, refersTo=symbol_ref)
    if res.meeting is not None or res.adopted_on is not None:
        _write_adoption(_sub(preface, "p"), res, adopted_at, on)
    _sub(_sub(preface, "p"), "docTitle", res.title)


def _write_number(
    line: etree._Element, res: ParsedResolution, doc_type: str, number_ref: str
) -> None:
    """The preface line "RESOLUTION No. 1244 (CI)", with the session's numeral if it has one."""
    _sub(line, "docType", doc_type).tail = " "
    number = _sub(line, "docNumber", res.number, refersTo=number_ref)
    if res.session is not None and res.session_roman:
        number.tail = " ("
        _sub(line, "session", res.session_roman, value=str(res.session)).tail = ")"


def _write_adoption(line: etree._Element, res: ParsedResolution, adopted_at: str, on: str) -> None:
    """The preface line "Adopted at its 523rd meeting on 27 November 2012"."""
    line.text = f"{adopted_at} " if res.meeting is not None else ""
    last: etree._Element | None = None
    if res.meeting is not None:
        last = _sub(line, "inline", _meeting_text(res.meeting, res.language), name="meeting")
    if res.adopted_on is not None:
        if last is not None:
            last.tail = f" {on} "
        _sub(
            line,
            "docDate",
            _date_text(res.adopted_on, res.language),
            date=res.adopted_on.isoformat(),
        )


def _write_preamble(statement: etree._Element, res: ParsedResolution, refs: _References) -> None:
    """The preamble: the enacting formula, the preambular paragraphs, the resolving formula."""
    if not (res.preamble_intro or res.preambular or res.operative_intro):
        return
    preamble = _sub(statement, "preamble")
    formulas = 0
    if res.preamble_intro:
        formulas += 1
        _write_formula(preamble, "enactingFormula", formulas, res.preamble_intro)
    for paragraph in res.preambular:
        _marked_text(
            _sub(preamble, "p", eId=paragraph.eid),
            paragraph.text,
            _paragraph_marks(paragraph, refs),
        )
    if res.operative_intro:
        formulas += 1
        _write_formula(preamble, "resolvingFormula", formulas, res.operative_intro)


def _write_formula(preamble: etree._Element, name: str, number: int, text: str) -> None:
    """One formula of the preamble ("The Council,", "Resolves to:")."""
    formula = _sub(preamble, "formula", name=name, eId=f"preamble__formula_{number}")
    _sub(formula, "p", text)


def _write_body(body: etree._Element, res: ParsedResolution, refs: _References) -> None:
    """The operative paragraphs, each with its sub-paragraphs."""
    for paragraph in res.operative:
        element = _sub(body, "paragraph", eId=paragraph.eid)
        _sub(element, "num", f"{paragraph.num}.")
        holder = _sub(element, "intro" if paragraph.subparagraphs else "content")
        _marked_text(_sub(holder, "p"), paragraph.text, _paragraph_marks(paragraph, refs))
        if paragraph.subparagraphs:
            _write_points(element, paragraph.subparagraphs, paragraph.eid)


def _write_identification(
    meta: etree._Element, res: ParsedResolution, author: str, author_role: str, editor_role: str
) -> None:
    identification = _sub(meta, "identification", source=f"#{_SOURCE}")
    work, expression = res.work_uri, res.expression_uri
    # AKN requires a date at each level; an undated resolution gets the earliest xsd:date.
    date = res.adopted_on.isoformat() if res.adopted_on else "0001-01-01"
    date_name = "adoption" if res.adopted_on else "unknown"

    level = _sub(identification, "FRBRWork")
    _sub(level, "FRBRthis", value=f"{work}/!main")
    _sub(level, "FRBRuri", value=work)
    _sub(level, "FRBRdate", date=date, name=date_name)
    _sub(level, "FRBRauthor", href=author, as_=author_role)
    _sub(level, "FRBRcountry", value=naming.COUNTRY)
    _sub(level, "FRBRsubtype", value=naming.SUBTYPE)
    if res.number:
        _sub(level, "FRBRnumber", value=res.number)
    _sub(level, "FRBRname", value="resolution")

    level = _sub(identification, "FRBRExpression")
    _sub(level, "FRBRthis", value=f"{expression}/!main")
    _sub(level, "FRBRuri", value=expression)
    _sub(level, "FRBRdate", date=date, name=date_name)
    _sub(level, "FRBRauthor", href=author, as_=author_role)
    _sub(level, "FRBRlanguage", language=naming.LANGUAGE_CODES.get(res.language, res.language))

    level = _sub(identification, "FRBRManifestation")
    _sub(level, "FRBRthis", value=f"{expression}/!main.xml")
    _sub(level, "FRBRuri", value=res.manifestation_uri)
    _sub(level, "FRBRdate", date=date, name=date_name)
    _sub(level, "FRBRauthor", href=f"#{_SOURCE}", as_=editor_role)
    _sub(level, "FRBRformat", value="application/akn+xml")


# --- reading ------------------------------------------------------------------------------------


def from_akn(data: bytes | str, *, source: str) -> ParsedResolution:
    """Read an Akoma Ntoso 3.0 resolution (ours or AKN4UN's); malformed XML names its line."""
    return _AknReader(_parse_xml(data, source), source).read()


def _parse_xml(data: bytes | str, source: str) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8" if isinstance(data, str) else None,
    )
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        root = etree.fromstring(raw, parser)
    except UnicodeEncodeError:
        raise ResolutionParseError(source, None, "malformed XML: not encodable text") from None
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        raise ResolutionParseError(source, line, f"malformed XML: {exc.msg}") from None
    except ValueError as exc:
        raise ResolutionParseError(source, None, f"malformed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        # Entity tricks live in DTDs; Akoma Ntoso documents carry none.
        raise ResolutionParseError(source, 1, "XML with a DOCTYPE is not accepted")
    if root.tag != _Q + "akomaNtoso":
        raise ResolutionParseError(
            source,
            root.sourceline,
            f"not an Akoma Ntoso 3.0 document (root element {etree.QName(root).text})",
        )
    return root


def _text(element: etree._Element | None) -> str:
    return markup.normalise("".join(element.itertext())) if element is not None else ""


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag[len(_Q) :] if isinstance(tag, str) and tag.startswith(_Q) else ""


class _AknReader:
    def __init__(self, root: etree._Element, source: str) -> None:
        self.source = source
        document = next((child for child in root if _local(child)), None)
        if document is None:
            raise ResolutionParseError(source, root.sourceline, "no document inside akomaNtoso")
        self.document: etree._Element = document
        self.tlc = {
            element.get("eId", ""): element
            for element in document.iterfind(f"{_Q}meta/{_Q}references/*")
        }

    def each(self, path: str) -> Iterator[etree._Element]:
        """Elements at an ElementPath written without namespaces ("meta/references/*")."""
        return self.document.iterfind(re.sub(r"(^|/)(?=[A-Za-z])", rf"\1{_Q}", path))

    def first(self, path: str) -> etree._Element | None:
        return next(self.each(path), None)

    def referred(self, element: etree._Element | None) -> str | None:
        """The ``showAs`` of the TLC entry an element's ``refersTo``/``href`` points at."""
        if element is None:
            return None
        target = (element.get("refersTo") or element.get("href") or "").split(" ")[0]
        entry = self.tlc.get(target.removeprefix("#"))
        return entry.get("showAs") if entry is not None else None

    def error(self, element: etree._Element, reason: str) -> ResolutionParseError:
        return ResolutionParseError(self.source, element.sourceline, reason)

    def read(self) -> ParsedResolution:
        language_element = self.first("meta/identification/FRBRExpression/FRBRlanguage")
        code = language_element.get("language", "") if language_element is not None else "eng"
        language = naming.LANGUAGES_BY_CODE.get(code, code if code in naming.LANGUAGE_CODES else "")
        if not language:
            where = language_element if language_element is not None else self.document
            raise self.error(where, f"unsupported language {code!r}")

        session, roman = self._session()
        preambular, preamble_intro, operative_intro = self._preamble(language)
        operative = self._operative(language)
        title = self.first(".//preface//docTitle")
        return ParsedResolution(
            body=self._body(),
            number=self._number(),
            session=session,
            session_roman=roman,
            meeting=self._meeting(),
            adopted_on=self._adopted_on(),
            title=_text(title),
            language=language,
            symbol=self._symbol(),
            preamble_intro=preamble_intro,
            operative_intro=operative_intro,
            preambular=preambular,
            operative=operative,
        )

    def _body(self) -> str:
        authority = self.first(".//preface//docAuthority")
        if authority is not None:
            return _text(authority)
        # AKN4UN names the author "General Assembly"; we keep bodies in canonical form.
        author = self.referred(self.first("meta/identification/FRBRWork/FRBRauthor")) or ""
        return body_name(author, iom=False) or author

    def _number(self) -> str:
        for element in self.each(".//preface//docNumber"):
            if element.get("refersTo") == "#resolutionNumber":
                return _text(element)
        work_number = self.first("meta/identification/FRBRWork/FRBRnumber")
        if work_number is not None:
            return markup.normalise(work_number.get("value", ""))
        for element in self.each(".//preface//docNumber"):
            if element.get("refersTo") != "#symbol":
                return _text(element).rstrip(".")
        return ""

    def _symbol(self) -> str | None:
        for element in self.each(".//docNumber"):
            if element.get("refersTo") == "#symbol":
                return _text(element) or None
        return None

    def _session(self) -> tuple[int | None, str | None]:
        element = self.first(".//preface//session")
        if element is None:
            element = self.first(".//coverPage//session")
        if element is None:
            return None, None
        try:
            value = int(element.get("value", ""))
        except ValueError:
            raise self.error(
                element, f"session value {element.get('value')!r} is not a number"
            ) from None
        text = _text(element)
        roman = text if roman_to_int(text) == value else None
        return value, roman

    def _meeting(self) -> int | None:
        for element in self.each(".//preface//inline"):
            if element.get("name") == "meeting":
                digits = re.match(r"\d+", _text(element))
                if digits is None:
                    raise self.error(element, f"meeting {_text(element)!r} has no number")
                return int(digits.group())
        # AKN4UN records "70th plenary meeting" in the conclusions.
        conclusions = self.first("conclusions")
        return find_meeting(_text(conclusions)) if conclusions is not None else None

    def _adopted_on(self) -> dt.date | None:
        element = self.first(".//preface//docDate")
        if element is None:
            element = self.first(".//conclusions//docDate")
        value = element.get("date") if element is not None else None
        if element is None:
            work_date = self.first("meta/identification/FRBRWork/FRBRdate")
            if work_date is None or work_date.get("name") != "adoption":
                return None
            element, value = work_date, work_date.get("date")
        try:
            return dt.date.fromisoformat(value or "")
        except ValueError:
            raise self.error(element, f"invalid date {value!r}") from None

    def _classified(
        self, kind: str, text: str, holder: etree._Element | None, language: str
    ) -> tuple[str | None, str | None, str | None]:
        """(verb, verb as written, addressee): from the markup, else from the text."""
        marked = self._marked(text, holder) if holder is not None else None
        if marked is not None:
            return marked
        found = match_verb(text, language, preambular=kind == "preambular")
        if found is None:
            return None, None, None
        addressee = find_addressee(text, found, language) if kind == "operative" else None
        return found.lemma, found.text, addressee

    def _marked(
        self, text: str, holder: etree._Element
    ) -> tuple[str | None, str | None, str | None] | None:
        """(verb, verb as written, addressee) as marked up, if the markup marks a verb."""
        # Only a verb the paragraph's text shows counts: an empty element, or one outside
        # the text's blocks, marks nothing, and the verb is read from the text instead.
        verb_element = next(
            (
                i
                for i in holder.iter(_Q + "i")
                if self.referred(i) and _text(i) and _text(i) in text
            ),
            None,
        )
        if verb_element is None:
            return None
        role = _text(next(holder.iter(_Q + "role"), None))
        return (
            self.referred(verb_element),
            _text(verb_element),
            role if role and role in text else None,
        )

    def _preamble(self, language: str) -> tuple[tuple[Paragraph, ...], str | None, str | None]:
        preamble = self.first("preamble")
        if preamble is None:
            return (), None, None
        paragraphs: list[Paragraph] = []
        intro = resolving = None
        for child in preamble:
            name = _local(child)
            if name == "formula":
                text = _text(child) or None
                if child.get("name") == "resolvingFormula":
                    resolving = text
                elif intro is None:
                    intro = text
            elif name in {"p", "container", "blockContainer"}:
                text = _text(child)
                if not text:
                    continue
                position = len(paragraphs) + 1
                verb, verb_text, _ = self._classified("preambular", text, child, language)
                paragraphs.append(
                    Paragraph(
                        kind="preambular",
                        num=str(position),
                        eid=child.get("eId") or naming.preambular_eid(position),
                        verb=verb,
                        verb_text=verb_text,
                        addressee=None,
                        text=text,
                    )
                )
        return tuple(paragraphs), intro, resolving

    def _operative(self, language: str) -> tuple[Paragraph, ...]:
        body = self.first("mainBody")
        if body is None:
            raise self.error(self.document, "no mainBody: no operative paragraphs found")
        paragraphs: list[Paragraph] = []
        numbers: list[tuple[int, int | None]] = []
        for element in body.iter(_Q + "paragraph"):
            num = _text(element.find(_Q + "num")).rstrip(".")
            try:
                numbers.append((int(num), element.sourceline))
            except ValueError:
                raise self.error(element, f"paragraph number {num!r} is not a number") from None
            holder = _holder(element)
            text = " ".join(_text(p) for p in _blocks(holder) if _text(p))
            verb, verb_text, addressee = self._classified("operative", text, holder, language)
            eid = element.get("eId") or naming.operative_eid(num)
            points = self._points(element, eid)
            if not text and not points:
                # The text reader never sees such a paragraph ("1." alone opens nothing).
                raise self.error(element, f"operative paragraph {num} has no text")
            paragraphs.append(
                Paragraph(
                    kind="operative",
                    num=num,
                    eid=eid,
                    verb=verb,
                    verb_text=verb_text,
                    addressee=addressee,
                    text=text,
                    subparagraphs=points,
                )
            )
        if not paragraphs:
            raise self.error(body, "no operative paragraphs found")
        check_numbering(numbers, self.source)
        return tuple(paragraphs)

    def _points(self, parent: etree._Element, owner: str) -> tuple[SubParagraph, ...]:
        points: list[SubParagraph] = []
        for listing in parent.iterfind(_Q + "list"):
            for point in listing.iterfind(_Q + "point"):
                num = _text(point.find(_Q + "num")).strip("()")
                holder = _holder(point)
                eid = point.get("eId") or naming.point_eid(owner, num)
                points.append(
                    SubParagraph(
                        num=num,
                        eid=eid,
                        text=" ".join(_text(p) for p in _blocks(holder) if _text(p)),
                        subparagraphs=self._points(point, eid),
                    )
                )
        return tuple(points)


def _holder(element: etree._Element) -> etree._Element | None:
    """Where a paragraph's or point's own text is: its content, its intro, or its list's intro
    (AKN4UN puts "Recalls the mandate:" in ``list/intro``)."""
    for path in ("content", "intro", f"list/{_Q}intro"):
        found = element.find(_Q + path)
        if found is not None:
            return found
    return None


def _blocks(holder: etree._Element | None) -> Iterable[etree._Element]:
    return holder.iterfind(_Q + "p") if holder is not None else ()
