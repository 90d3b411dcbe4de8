"""The operative-verb lexicon (English, French, Spanish) and the rules that read paragraphs.

Every verb is reduced to an English *lemma* ("Prie en outre" -> ``request``, "Toma nota" ->
``take note``), so playbook rules are written once whatever the language. A lemma is either
*directive* (someone must act: request, urge, invite…) or *declaratory* (the body states a
position: affirm, welcome, take note…); ``is_declaratory`` tells them apart.

Forms cover the infinitive of IOM Council resolutions ("Resolves to: 1. Request…") and the
third person of UN resolutions ("1. Requests…"), plus the participles and adjectives that open
preambular paragraphs ("Taking note", "Rappelant", "Teniendo presente"). Adverbs ("Further",
"en outre", "además", "Strongly") may precede, interrupt or follow a verb and are part of the
verb as written but not of its lemma; phrases whose adverb changes the meaning ("Invite
instamment" = urge) are listed as forms of their own and win as the longer match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# lemma -> declaratory?
LEMMAS: Mapping[str, bool] = {
    # directive: the paragraph asks or empowers someone to act
    "decide": False,
    "request": False,
    "call upon": False,
    "call for": False,
    "urge": False,
    "invite": False,
    "encourage": False,
    "recommend": False,
    "approve": False,
    "authorize": False,
    "endorse": False,
    "instruct": False,
    "agree": False,
    # declaratory: the body records a position
    "affirm": True,
    "reaffirm": True,
    "welcome": True,
    "take note": True,
    "note": True,
    "recognize": True,
    "acknowledge": True,
    "express appreciation": True,
    "express concern": True,
    "emphasize": True,
    "stress": True,
    "underline": True,
    "recall": True,
    "reiterate": True,
    "commend": True,
    "thank": True,
    "condemn": True,
    "deplore": True,
    # preambular openings
    "bear in mind": True,
    "take into account": True,
    "be aware": True,
    "be concerned": True,
    "be alarmed": True,
    "be convinced": True,
    "be mindful": True,
    "be determined": True,
    "be guided by": True,
    "consider": True,
    "examine": True,
    "believe": True,
    "desire": True,
}

# Each line: "lemma: form | form | …" (forms in lower case, accents as written).
_OPERATIVE = {
    "en": """
        decide: decide | decides | resolve | resolves
        request: request | requests
        call upon: call upon | calls upon | call on | calls on
        call for: call for | calls for
        urge: urge | urges
        invite: invite | invites
        encourage: encourage | encourages
        recommend: recommend | recommends
        approve: approve | approves
        authorize: authorize | authorizes | authorise | authorises
        endorse: endorse | endorses
        instruct: instruct | instructs
        agree: agree | agrees
        affirm: affirm | affirms
        reaffirm: reaffirm | reaffirms
        welcome: welcome | welcomes
        take note: take note | takes note
        note: note | notes
        recognize: recognize | recognizes | recognise | recognises
        acknowledge: acknowledge | acknowledges
        express appreciation: express appreciation | expresses appreciation
            | express its appreciation | expresses its appreciation
            | express gratitude | expresses gratitude | express its gratitude
            | expresses its gratitude
        express concern: express concern | expresses concern | express its concern
            | expresses its concern | express its deep concern | expresses its deep concern
        emphasize: emphasize | emphasizes | emphasise | emphasises
        stress: stress | stresses
        underline: underline | underlines
        recall: recall | recalls
        reiterate: reiterate | reiterates
        commend: commend | commends
        thank: thank | thanks
        condemn: condemn | condemns
        deplore: deplore | deplores
    """,
    "fr": """
        decide: décide | décider
        request: prie | prier
        call upon: demande | demander | engage | engager | appelle | appeler
            | lance un appel | lancer un appel
        urge: exhorte | exhorter | prie instamment | prier instamment | invite instamment
            | inviter instamment | demande instamment | demander instamment
            | engage instamment | engager instamment | engage vivement | engager vivement
        invite: invite | inviter
        encourage: encourage | encourager
        recommend: recommande | recommander
        approve: approuve | approuver
        authorize: autorise | autoriser
        endorse: entérine | entériner | fait sien | fait sienne | fait siens | fait siennes
            | faire sien | faire siens
        instruct: charge | charger
        agree: convient | convenir
        affirm: affirme | affirmer
        reaffirm: réaffirme | réaffirmer
        welcome: se félicite | se féliciter | accueille avec satisfaction
            | accueillir avec satisfaction | salue | saluer
        take note: prend note | prendre note | prend acte | prendre acte
        note: note | noter | constate | constater | observe | observer
        recognize: reconnaît | reconnait | reconnaître | reconnaitre
        express appreciation: exprime sa gratitude | exprimer sa gratitude
            | exprime sa reconnaissance | exprimer sa reconnaissance
            | exprime sa satisfaction | exprimer sa satisfaction | sait gré
        express concern: exprime sa préoccupation | exprimer sa préoccupation
            | exprime sa profonde préoccupation | exprime son inquiétude
        emphasize: souligne | souligner | met l'accent | mettre l'accent
        stress: insiste | insister
        recall: rappelle | rappeler
        reiterate: réitère | réitérer
        thank: remercie | remercier
        condemn: condamne | condamner
        deplore: déplore | déplorer
    """,
    "es": """
        decide: decide | decidir | resuelve | resolver
        request: pide | pedir | solicita | solicitar | ruega | rogar
        call upon: exhorta | exhortar | hace un llamamiento | hacer un llamamiento
        urge: insta | instar
        invite: invita | invitar
        encourage: alienta | alentar | anima | animar
        recommend: recomienda | recomendar
        approve: aprueba | aprobar
        authorize: autoriza | autorizar
        endorse: hace suyo | hace suya | hace suyos | hace suyas | hacer suyo | hacer suya
            | respalda | respaldar
        instruct: encarga | encargar | encomienda | encomendar
        agree: conviene | convenir
        affirm: afirma | afirmar
        reaffirm: reafirma | reafirmar
        welcome: acoge con beneplácito | acoger con beneplácito | acoge con satisfacción
            | acoger con satisfacción | acoge favorablemente | celebra | celebrar
        take note: toma nota | tomar nota
        note: observa | observar | señala | señalar | toma conocimiento
        recognize: reconoce | reconocer
        express appreciation: expresa su reconocimiento | expresar su reconocimiento
            | expresa su agradecimiento | expresar su agradecimiento
            | expresa su aprecio | expresa su gratitud
        express concern: expresa su preocupación | expresar su preocupación
            | expresa su profunda preocupación
        emphasize: destaca | destacar | subraya | subrayar | pone de relieve
            | poner de relieve | hace hincapié | hacer hincapié
        stress: recalca | recalcar | insiste | insistir
        recall: recuerda | recordar
        reiterate: reitera | reiterar
        commend: encomia | encomiar | elogia | elogiar
        thank: agradece | agradecer
        condemn: condena | condenar
        deplore: deplora | deplorar
    """,
}

_PREAMBULAR = {
    "en": """
        take note: taking note
        recall: recalling
        bear in mind: bearing in mind | keeping in mind
        take into account: taking into account | taking into consideration
        recognize: recognizing | recognising
        acknowledge: acknowledging
        note: noting
        be aware: aware | conscious
        reaffirm: reaffirming
        affirm: affirming
        welcome: welcoming
        be concerned: concerned
        be alarmed: alarmed
        be convinced: convinced
        be mindful: mindful
        be determined: determined
        be guided by: guided by
        emphasize: emphasizing | emphasising
        stress: stressing
        underline: underlining
        reiterate: reiterating
        express appreciation: expressing appreciation | expressing its appreciation
            | expressing its gratitude
        express concern: expressing concern | expressing its concern
        consider: considering | having considered
        examine: having examined
        commend: commending
        condemn: condemning
        deplore: deploring
        believe: believing
        desire: desiring
    """,
    "fr": """
        take note: prenant note | prenant acte
        recall: rappelant
        bear in mind: ayant à l'esprit | gardant à l'esprit
        take into account: tenant compte
        recognize: reconnaissant
        note: notant | constatant | observant
        be aware: conscient | consciente | conscients | conscientes
        reaffirm: réaffirmant
        affirm: affirmant
        welcome: se félicitant | accueillant avec satisfaction | saluant
        be concerned: préoccupé | préoccupée | préoccupés | préoccupées | inquiet | inquiète
        be alarmed: alarmé | alarmée
        be convinced: convaincu | convaincue | convaincus | convaincues
        be determined: résolu | résolue | déterminé | déterminée
        be guided by: guidé par | guidée par | s'inspirant
        emphasize: soulignant | mettant l'accent
        stress: insistant
        reiterate: réitérant
        express appreciation: exprimant sa gratitude | exprimant sa satisfaction
            | exprimant sa reconnaissance
        express concern: exprimant sa préoccupation | exprimant sa profonde préoccupation
        consider: considérant | estimant
        examine: ayant examiné
        condemn: condamnant
        deplore: déplorant
        desire: désireux | désireuse | désirant
    """,
    "es": """
        take note: tomando nota
        recall: recordando
        bear in mind: teniendo presente
        take into account: teniendo en cuenta
        recognize: reconociendo
        note: observando | señalando | tomando conocimiento
        be aware: consciente | conscientes
        reaffirm: reafirmando
        affirm: afirmando
        welcome: acogiendo con beneplácito | acogiendo con satisfacción | celebrando
        be concerned: preocupado | preocupada | preocupados | preocupadas
        be alarmed: alarmado | alarmada
        be convinced: convencido | convencida | convencidos | convencidas
        be determined: decidido | decidida | resuelto | resuelta
        be guided by: guiado por | guiada por | guiándose por
        emphasize: destacando | subrayando | poniendo de relieve | haciendo hincapié
        stress: recalcando
        reiterate: reiterando
        express appreciation: expresando su reconocimiento | expresando su agradecimiento
            | expresando su aprecio
        express concern: expresando su preocupación | expresando su profunda preocupación
        consider: considerando
        examine: habiendo examinado
        condemn: condenando
        deplore: deplorando
        desire: deseando
    """,
}

_ADVERBS = {
    "en": """also | further | furthermore | again | once again | once more | strongly
        | firmly | warmly | urgently | earnestly | respectfully | hereby | deeply | gravely
        | seriously | profoundly | fully | formally | likewise | with appreciation
        | with satisfaction | with concern | with deep concern | with interest""",
    "fr": """en outre | également | aussi | de nouveau | à nouveau | une fois encore
        | une nouvelle fois | encore | de plus | par ailleurs | vivement | fermement
        | résolument | profondément | pleinement | avec satisfaction | avec préoccupation
        | avec inquiétude | avec intérêt | avec gratitude | avec reconnaissance""",
    "es": """además | también | asimismo | igualmente | nuevamente | de nuevo | una vez más
        | encarecidamente | encarecimente | firmemente | enérgicamente | profundamente
        | plenamente | con satisfacción | con reconocimiento | con preocupación | con aprecio
        | con interés""",
}
# "encarecimente" is a frequent misspelling of "encarecidamente" in drafts we receive.

# Words that may stand before an IOM-style infinitive ("Décide : 1. De prier…") without being
# part of the verb.
_PARTICLES = {"en": (), "fr": ("de", "d'"), "es": ()}

# The languages the parser reads: those it has operative verbs for (the working languages of
# operative.i18n today; a language added there is read only once its words are added here).
LANGUAGES = tuple(_OPERATIVE)

_WORD = re.compile(r"[^\W\d_]+['\u2019]?")


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for every comparison ("Réaffirme" -> "reaffirme")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().replace("\u2019", "'")


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(fold(match.group()) for match in _WORD.finditer(text))


def _read_table(source: str) -> list[tuple[tuple[str, ...], str]]:
    entries: list[tuple[tuple[str, ...], str]] = []
    # A line that starts with "|" continues the forms of the lemma above it.
    for lemma, forms in re.findall(r"^\s*([a-z ]+):((?:.*\n?)(?:\s*\|.*\n?)*)", source, re.M):
        entries.extend((_phrase(form), lemma) for form in forms.split("|") if form.strip())
    return entries


_OPERATIVE_FORMS = {language: _read_table(table) for language, table in _OPERATIVE.items()}
_PREAMBULAR_FORMS = {language: _read_table(table) for language, table in _PREAMBULAR.items()}


def _by_first_word(
    forms: list[tuple[tuple[str, ...], str]],
) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for form, lemma in forms:
        index.setdefault(form[0], []).append((form, lemma))
    return index


# Forms looked up by their first word: trying every form of a language on every paragraph
# made verb matching most of the parse time.
_OPERATIVE_INDEX = {language: _by_first_word(forms) for language, forms in _OPERATIVE_FORMS.items()}
_PREAMBULAR_INDEX = {
    language: _by_first_word(forms) for language, forms in _PREAMBULAR_FORMS.items()
}
_ADVERB_FORMS = {
    language: [_phrase(adverb) for adverb in table.split("|")]
    for language, table in _ADVERBS.items()
}
# Most words are no adverb: checking the first word alone keeps the scan cheap.
_ADVERB_STARTS = {
    language: {adverb[0] for adverb in adverbs} for language, adverbs in _ADVERB_FORMS.items()
}


def is_declaratory(lemma: str) -> bool:
    """Whether a lemma records a position (affirm, welcome…) rather than asking for action."""
    return LEMMAS.get(lemma, False)


@dataclass(frozen=True, slots=True)
class VerbMatch:
    """The verb that opens a paragraph: its lemma and where it stands in the text."""

    lemma: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Token:
    word: str
    start: int
    end: int


@lru_cache(maxsize=64)
def _tokens(text: str, limit: int = 14) -> tuple[_Token, ...]:
    """The words opening ``text``; cached, as every language is tried on the same paragraph."""
    tokens: list[_Token] = []
    for match in _WORD.finditer(text):
        if len(tokens) == limit:
            break
        # Only the words that open the paragraph count: stop at the first punctuation mark.
        gap = text[tokens[-1].end : match.start()] if tokens else text[: match.start()]
        if gap.strip():
            break
        tokens.append(_Token(fold(match.group()), match.start(), match.end()))
    return tuple(tokens)


def _adverb_at(tokens: tuple[_Token, ...], index: int, language: str) -> int:
    """How many tokens an adverb starting at ``index`` spans (0 if there is none)."""
    best = 0
    if index >= len(tokens) or tokens[index].word not in _ADVERB_STARTS[language]:
        return 0
    for adverb in _ADVERB_FORMS[language]:
        end = index + len(adverb)
        if len(adverb) > best and tuple(token.word for token in tokens[index:end]) == adverb:
            best = len(adverb)
    return best


def _match_form(
    tokens: tuple[_Token, ...], start: int, form: tuple[str, ...], language: str
) -> int:
    """The index just past ``form`` (with any adverbs around it) from ``start``, or -1."""
    index, matched = start, 0
    while matched < len(form):
        if index < len(tokens) and tokens[index].word == form[matched]:
            index, matched = index + 1, matched + 1
            continue
        skip = _adverb_at(tokens, index, language)
        if not skip:
            return -1
        index += skip
    while skip := _adverb_at(tokens, index, language):
        index += skip
    return index


# Complexity: the verb matcher's inner loop (particles, then the longest indexed form); kept
# whole because it is the parser's hot path (bench `parse`), and the lexicon is reworked in #12.
def _match_in(text: str, language: str, preambular: bool) -> tuple[int, VerbMatch] | None:
    """The longest form of ``language`` opening ``text``, with its length in words."""
    tokens = _tokens(text)
    start = 0
    while start < len(tokens) and tokens[start].word in _PARTICLES[language]:
        start += 1
    index = (_PREAMBULAR_INDEX if preambular else _OPERATIVE_INDEX)[language]
    # The verb's first word stands at ``start`` or just after adverbs ("Also requests").
    candidates: list[tuple[tuple[str, ...], str]] = []
    position = start
    while position < len(tokens):
        candidates.extend(index.get(tokens[position].word, ()))
        skip = _adverb_at(tokens, position, language)
        if not skip:
            break
        position += skip
    best: tuple[int, int, str] | None = None
    for form, lemma in candidates:
        end = _match_form(tokens, start, form, language)
        # The longest form wins ("Invite instamment" over "Invite"), then the longest run of
        # adverbs taken along ("Further request" over "request").
        if end > start and (best is None or (len(form), end) > (best[0], best[1])):
            best = (len(form), end, lemma)
    if best is None:
        return None
    first, last = tokens[start], tokens[best[1] - 1]
    written = text[first.start : last.end].rstrip("'\u2019")
    return best[0], VerbMatch(best[2], first.start, last.end, written)


def match_verb(text: str, language: str, *, preambular: bool = False) -> VerbMatch | None:
    """The verb opening ``text`` (emphasis already removed).

    All three languages are tried, since a short paragraph may be misjudged: the longest
    form wins ("Invite instamment" is French for urge, not English "Invite"), and on a tie
    the document's ``language``.
    """
    best: tuple[int, int, int, VerbMatch] | None = None
    for candidate in LANGUAGES:
        found = _match_in(text, candidate, preambular)
        if found is not None:
            words, match = found
            score = (words, match.end, candidate == language, match)
            if best is None or score[:3] > best[:3]:
                best = score
    return best[3] if best else None


def opens_preambular_paragraph(text: str) -> bool:
    """A capitalised participle such as "Recalling" or "Teniendo presente", in any language."""
    return text[:1].isupper() and any(
        _match_in(text, language, preambular=True) is not None for language in LANGUAGES
    )


# --- addressees ---------------------------------------------------------------------------

_DETERMINERS = {
    "en": re.compile(r"(?:the|all|its|their|each|every|both)\s+", re.I),
    "fr": re.compile(
        r"(?:(?:tous|toutes)\s+les|le|la|les|aux|au|à|son|sa|ses|leur|leurs|chaque)\s+|l['\u2019]\s*",
        re.I,
    ),
    "es": re.compile(
        r"(?:(?:todos|todas)\s+(?:los|las)|el|la|los|las|al|a|del|su|sus|cada)\s+", re.I
    ),
}
_FR_CLITICS = {"me", "te", "se", "s'", "lui", "leur", "les", "la", "le", "l'", "y", "en"}
_FR_INFINITIVE = re.compile(r"[a-z]+(?:er|ir|re|oir)")
_ES_INFINITIVE = re.compile(r"[a-z]+(?:ar|er|ir)(?:se|le|les|lo|la|los|las|nos)?")
_PUNCTUATION = re.compile(r"[,;:.()\[\]]")

# Collective actors a declaratory paragraph speaks for: "Affirm the support of the Member
# States of IOM…" is the Member States' affirmation.
_ACTORS = {
    "en": re.compile(
        r"\bof\s+(?:the\s+|all\s+)?(Member\s+States|States\s+Members|States|Governments)\b"
    ),
    "fr": re.compile(r"\b(?:des|de\s+tous\s+les)\s+(États\s+Membres|États|gouvernements)\b"),
    "es": re.compile(r"\bde\s+(?:los|todos\s+los)\s+(Estados\s+Miembros|Estados|Gobiernos)\b"),
}


def _is_infinitive(words: list[str], language: str) -> bool:
    """Whether ``words`` open an infinitive clause (French allows clitics: "de lui présenter")."""
    index = 0
    if language == "fr":
        while index < len(words) and fold(words[index]) in _FR_CLITICS:
            index += 1
        if index < len(words) and re.fullmatch(r"(?:l|s)['\u2019].+", words[index]):
            head = words[index][2:]
            return head[:1].islower() and bool(_FR_INFINITIVE.fullmatch(fold(head)))
    if index >= len(words) or not words[index][:1].islower():
        return False
    pattern = _FR_INFINITIVE if language == "fr" else _ES_INFINITIVE
    return bool(pattern.fullmatch(fold(_PUNCTUATION.split(words[index])[0])))


# Complexity: one branch per language's rule for where an addressee ends; a table would not
# read better, as each rule looks ahead differently.
def _ends_noun_phrase(words: list[str], index: int, language: str) -> bool:
    """Whether the word at ``index`` starts what follows the addressee ("to", "de tenir", "que")."""
    word = fold(words[index])
    after = words[index + 1 :]
    if language == "en":
        return word in {"to", "that", "which", "who"}
    if language == "fr":
        if word in {"à", "a", "que"} or word.startswith("qu'"):
            return True
        if word == "de":
            return _is_infinitive(after, language)
        if word.startswith("d'"):
            return _is_infinitive([words[index][2:], *after], language)
        return False
    if word == "que":
        return True
    if word in {"a", "de", "para"}:
        return bool(after) and (fold(after[0]) == "que" or _is_infinitive(after, language))
    return False


# Complexity: strips up to four determiners, then tries each addressee form in turn; the
# steps share the text they shorten, so they stay in one function.
def _directive_addressee(rest: str, language: str) -> str | None:
    text = rest.lstrip()
    for _ in range(4):
        stripped = _DETERMINERS[language].match(text)
        if stripped is None:
            break
        text = text[stripped.end() :]
    if not text[:1].isupper():
        return None
    words = text.split()
    kept: list[str] = []
    for index, word in enumerate(words):
        if index and _ends_noun_phrase(words, index, language):
            break
        cut = _PUNCTUATION.search(word)
        if cut:
            if cut.start():
                kept.append(word[: cut.start()])
            break
        kept.append(word)
    if not kept or len(kept) > 12:
        return None
    return " ".join(kept)


def find_addressee(text: str, verb: VerbMatch, language: str) -> str | None:
    """Whom an operative paragraph addresses, as written and without its article.

    "Request the Director General to keep…" -> "Director General"; "Pide al Secretario
    General que…" -> "Secretario General"; "Decides to convene…" -> None. A declaratory
    paragraph that speaks for a collective actor ("Affirm the support of the Member States
    of IOM…") names that actor.
    """
    language = language if language in _DETERMINERS else "en"
    rest = text[verb.end :]
    found = _directive_addressee(rest, language)
    if found is None and is_declaratory(verb.lemma):
        actor = _ACTORS[language].search(rest)
        found = " ".join(actor.group(1).split()) if actor else None
    return found


# --- language -------------------------------------------------------------------------------

_MARKERS = {
    "en": {"the", "of", "and", "to", "for", "with", "that", "on", "by", "its", "this", "which"},
    "fr": {"les", "des", "du", "et", "à", "pour", "dans", "sur", "une", "au", "aux", "par", "est"},
    "es": {"el", "los", "las", "del", "y", "para", "con", "por", "una", "al", "su", "sus", "se"},
}


def detect_language(text: str) -> str:
    """The language code ("en", "fr" or "es"), counting words only one of the three uses often."""
    counts = dict.fromkeys(_MARKERS, 0)
    for position, match in enumerate(re.finditer(r"[^\W\d_]+", text.casefold())):
        if position == 20000:
            break
        for language, markers in _MARKERS.items():
            if match.group() in markers:
                counts[language] += 1
    return max(LANGUAGES, key=lambda language: counts[language])
