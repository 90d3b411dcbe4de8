"""Messages in three languages: every kind renders, strictly, with the right plurals and dates."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from operative.i18n import LANGUAGES, locales_dir
from operative.notify.recipients import ROLES
from operative.notify.templates import KINDS, Renderer, TemplateError
from operative.register.obligations import load_playbooks
from tests.factories import RESOLUTION, invitation_context

CONTEXTS = {
    "invitation": invitation_context(),
    "reminder": invitation_context(days_left=3),
    "overdue": invitation_context(days_overdue=2),
    "briefing": {
        "resolution": RESOLUTION,
        "topic": "preparations for the High-level Dialogue",
        "summary": "Consultations are under way.",
        "items": 4,
        "as_of": dt.date(2013, 5, 2),
    },
    "approval_request": {
        "resolution": RESOLUTION,
        "step": "transmittal letter",
        "requested_by": "J. Officer",
        "due": dt.datetime(2012, 12, 10, 17, 0, tzinfo=dt.UTC),
        "link": "https://operative.example.org/approvals/7",
    },
    "escalation": {
        "failed_recipient": "FRA",
        "channel": "email",
        "message_kind": "invitation",
        "message_key": "obligation:4:invitation:cycle:0",
        "attempts": 5,
        "error": "connection refused",
        "target": "mailtos://notices:****@relay.example.org",
        "delivery_id": 12,
    },
    "transmittal": {
        "resolution": {**RESOLUTION, "adopted_on": dt.date(2012, 11, 27)},
        "paragraph": "5",
        "enclosures": 1,
    },
}
RECIPIENT = {
    "name": "Côte d\u2019Ivoire",
    "ref": "CIV",
    "language": "fr",
    "timezone": "Europe/Zurich",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_language_with_nothing_left_untranslated(
    kind: str, language: str
) -> None:
    """Each mission reads every notice in its own language, never half in English."""
    rendered = Renderer().render(
        kind,
        language=language,
        timezone="Europe/Zurich",
        context={**CONTEXTS[kind], "recipient": RECIPIENT},
    )
    assert rendered.language == language
    assert rendered.subject and "\n" not in rendered.subject
    assert "{{" not in rendered.body and "%(" not in rendered.body
    english = Renderer().render(
        kind,
        language="en",
        timezone="Europe/Zurich",
        context={**CONTEXTS[kind], "recipient": RECIPIENT},
    )
    if language != "en":
        assert rendered.subject != english.subject
        assert rendered.body != english.body


def test_notes_to_missions_use_the_formal_register() -> None:
    """Missions expect a note verbale: compliments, the honour, and the closing courtesy."""
    context = {**CONTEXTS["invitation"], "recipient": RECIPIENT}
    expected = {
        "en": ["presents its compliments", "has the honour", "highest consideration"],
        "fr": ["présente ses compliments", "a l\u2019honneur", "très haute considération"],
        "es": ["saluda atentamente", "tiene el honor", "más alta consideración"],
    }
    for language, phrases in expected.items():
        body = (
            Renderer()
            .render("invitation", language=language, timezone="Europe/Zurich", context=context)
            .body
        )
        for phrase in phrases:
            assert phrase in body, (language, phrase)


def test_a_missing_variable_fails_before_anything_is_rendered() -> None:
    """A notice with a blank where the deadline should be must never go out."""
    context = {**CONTEXTS["invitation"], "recipient": RECIPIENT}
    del context["deadline"]
    with pytest.raises(TemplateError, match="'deadline' is undefined"):
        Renderer().render("invitation", language="fr", timezone="Europe/Zurich", context=context)


def test_an_unknown_language_falls_back_to_english_with_a_logged_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A contact recorded in German still gets the notice, in English, and someone is told."""
    caplog.set_level(logging.WARNING, logger="operative.notify")
    rendered = Renderer().render(
        "invitation",
        language="de",
        timezone="Europe/Zurich",
        context={**CONTEXTS["invitation"], "recipient": RECIPIENT},
    )
    assert rendered.language == "en"
    assert rendered.subject.startswith("Invitation")
    assert any("'de'" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("fr", 0, "0 jour,"),
        ("fr", 1, "1 jour,"),
        ("fr", 2, "2 jours,"),
        ("fr", 1000000, "1000000 de jours,"),
        ("es", 0, "0 días,"),
        ("es", 1, "1 día,"),
        ("es", 2, "2 días,"),
        ("en", 0, "0 days,"),
        ("en", 1, "1 day,"),
    ],
)
def test_plural_forms_follow_each_languages_rule(language: str, count: int, expected: str) -> None:
    """French counts zero as singular, Spanish does not; both say 'de' for round millions."""
    body = (
        Renderer()
        .render(
            "reminder",
            language=language,
            timezone="Europe/Zurich",
            context={**CONTEXTS["reminder"], "days_left": count, "recipient": RECIPIENT},
        )
        .body
    )
    assert expected in body


def test_dates_are_shown_in_the_recipients_time_zone_and_language() -> None:
    """18:00 in Geneva is noon in New York: the PGA's office must read its own local time."""
    context = {**CONTEXTS["invitation"], "recipient": RECIPIENT}
    geneva = (
        Renderer()
        .render("invitation", language="fr", timezone="Europe/Zurich", context=context)
        .body
    )
    new_york = (
        Renderer()
        .render("invitation", language="en", timezone="America/New_York", context=context)
        .body
    )
    madrid = (
        Renderer()
        .render("invitation", language="es", timezone="Europe/Madrid", context=context)
        .body
    )
    assert "vendredi 9 août 2013, 18:00 (heure d\u2019été d\u2019Europe centrale)" in geneva
    assert "Friday, 9 August 2013, 12:00 (Eastern Daylight Time)" in new_york
    assert "9 de agosto de 2013, 18:00" in madrid


def test_a_time_without_a_zone_is_refused() -> None:
    """A naive deadline could be read in either city; the renderer must not guess."""
    context = {
        **CONTEXTS["invitation"],
        "deadline": dt.datetime(2013, 8, 9, 16, 0),
        "recipient": RECIPIENT,
    }
    with pytest.raises(TemplateError, match="without a time zone"):
        Renderer().render("invitation", language="en", timezone="Europe/Zurich", context=context)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_are_complete_keep_placeholders_and_are_compiled_up_to_date(language: str) -> None:
    """A stale .mo or a dropped %(deadline)s would silently change what missions read."""
    folder = locales_dir() / language / "LC_MESSAGES"
    with (folder / "operative.po").open("rb") as handle:
        source = read_po(handle)
    with (locales_dir() / "operative.pot").open("rb") as handle:
        template = read_po(handle)
    assert {m.id for m in source if m.id} == {m.id for m in template if m.id}
    with (folder / "operative.mo").open("rb") as handle:
        compiled = read_mo(handle)
    placeholder = re.compile(r"%\((\w+)\)s")
    for message in source:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
        wanted = set(placeholder.findall(ids[0]))
        for string in strings:
            assert set(placeholder.findall(string)) == wanted, (message.id, string)
        assert tuple(strings) == tuple(_as_tuple(compiled[message.id].string)), message.id


def _as_tuple(value: object) -> tuple[object, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_playbook_title_and_role_name_has_its_translation_in_the_catalogs(
    language: str,
) -> None:
    """A title renamed in playbooks.yaml, or a role added, without its catalog entry would put
    an English name in the middle of a French or Spanish briefing or notice."""
    folder = locales_dir() / language / "LC_MESSAGES"
    with (folder / "operative.po").open("rb") as handle:
        translated = {m.id: m.string for m in read_po(handle) if m.id and m.string}
    titles = [info.title for info in load_playbooks().playbooks.values()]
    names = [role.name for role in ROLES.values()]
    assert [t for t in [*titles, *names] if t not in translated] == []
    assert ROLES["chair"].name_in(language) == translated["Chairperson of the Council"]
    assert ROLES["chair"].name_in(language) != "Chairperson of the Council"
