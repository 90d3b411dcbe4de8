"""Akoma Ntoso names: FRBR IRIs (AKN4UN naming), element eIds, language codes, actor slugs.

IRIs follow the AKN Naming Convention 1.0 as profiled by AKN4UN for deliberations:

    Work           /akn/un/statement/deliberation/{actor}/{adoption date}/{number}
    Expression     {Work}/{language}@            (ISO 639-2/B: eng, fra, spa)
    Manifestation  {Expression}.akn              (the component itself: {Expression}/!main.xml)

Choices where AKN4UN is silent:

* IOM is a related organization of the UN system (and a member of the CEB), so its Council's
  resolutions use AKN4UN's jurisdiction ``un`` and document type ``statement``/``deliberation``
  like any other UN-system governing body, with the actor ``iom-council``. Resolution 1244 is
  therefore ``/akn/un/statement/deliberation/iom-council/2012-11-27/1244``.
* UN bodies use the AKN4UN actor codes ``unga`` and ``unsc``; ``hrc`` and ``ecosoc`` follow the
  same pattern. Any other body gets a slug of its name.
* A number with slashes ("67/219") becomes ``67-219``, as in AKN4UN; a missing number is ``nn``
  and a missing adoption date ``undated``, so the IRI stays well formed and visibly incomplete.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
COUNTRY = "un"
DOCUMENT_TYPE = "statement"
SUBTYPE = "deliberation"

LANGUAGE_CODES = {"en": "eng", "fr": "fra", "es": "spa"}
LANGUAGES_BY_CODE = {code: language for language, code in LANGUAGE_CODES.items()}

BODY_ACTORS = {
    "IOM Council": "iom-council",
    "UN General Assembly": "unga",
    "UN Security Council": "unsc",
    "Human Rights Council": "hrc",
    "UN Economic and Social Council": "ecosoc",
}


def ascii_fold(text: str) -> str:
    """Drop accents and anything else outside ASCII (IRIs and eIds stay plain ASCII)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: "Conseil de l'OIM" -> "conseil-de-l-oim"."""
    return "-".join(re.findall(r"[a-z0-9]+", ascii_fold(text).lower()))


def camel(text: str) -> str:
    """An eId-friendly camelCase name: "IOM Council" -> "iomCouncil"."""
    words = re.findall(r"[a-z0-9]+", ascii_fold(text).lower())
    return "".join([words[0], *(word.capitalize() for word in words[1:])]) if words else ""


def actor(body: str) -> str:
    """The actor component of the Work IRI for a body."""
    return BODY_ACTORS.get(body) or slug(body) or "unknown"


def work_uri(body: str, adopted_on: dt.date | None, number: str) -> str:
    date = adopted_on.isoformat() if adopted_on else "undated"
    num = "-".join(re.findall(r"[A-Za-z0-9.]+", ascii_fold(number))) or "nn"
    return f"/akn/{COUNTRY}/{DOCUMENT_TYPE}/{SUBTYPE}/{actor(body)}/{date}/{num}"


def expression_uri(work: str, language: str) -> str:
    return f"{work}/{LANGUAGE_CODES.get(language, language)}@"


def manifestation_uri(expression: str) -> str:
    return f"{expression}.akn"


def preambular_eid(position: int) -> str:
    return f"preamble__p_{position}"


def operative_eid(num: str) -> str:
    return f"para_{num}"


def point_eid(parent: str, num: str) -> str:
    return f"{parent}__list_1__point_{num}"
