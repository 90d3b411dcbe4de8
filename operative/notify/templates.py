"""Messages in the recipient's language: Jinja2 templates and Babel gettext catalogs.

Each kind of message has two templates in ``config/templates/``, ``KIND.subject.j2`` and
``KIND.body.j2``, written in English inside ``{% trans %}`` blocks; the French and Spanish
texts are in the ``operative`` catalogs under ``config/locales/`` (``.po`` sources, compiled to
``.mo`` by ``.ci/install``). Plural forms follow each language's own rule (French counts 0 as
singular; both French and Spanish have a third form for round millions).

Rendering is strict: a variable the template uses and the context lacks raises
:class:`TemplateError` (Jinja2's ``StrictUndefined``), so a notice is never half-rendered —
the outbox renders every delivery before it writes any. Dates and times are shown with
``babel.dates`` in the recipient's time zone. A language other than en, fr or es falls back
to English with a logged warning.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel import Locale
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_decimal

from operative import i18n
from operative.core.settings import get_settings
from operative.errors import Invalid
from operative.i18n import LANGUAGES, locales_dir
from operative.notify.masking import LOGGER_NAME

KINDS = (
    "invitation",
    "reminder",
    "overdue",
    "briefing",
    "approval_request",
    "escalation",
    "transmittal",
)
log = logging.getLogger(LOGGER_NAME)


class TemplateError(Invalid):
    """A message cannot be rendered (unknown kind, missing variable, bad value): bad input."""


@dataclass(frozen=True)
class Rendered:
    """A rendered notice: subject, body, and the language it is really in."""

    subject: str
    body: str
    language: str


def templates_dir() -> Path:
    return get_settings().config_dir / "templates"


def _defined(value: Any) -> Any:
    """Filters get StrictUndefined as a value; touching it raises the error naming the variable."""
    if isinstance(value, jinja2.Undefined):
        str(value)
    return value


def _aware(value: Any) -> dt.datetime:
    value = _defined(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise TemplateError(f"not a date and time: {value!r}") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TemplateError(f"a time without a time zone is ambiguous: {value.isoformat()}")
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, 12, tzinfo=dt.UTC)
    raise TemplateError(f"not a date and time: {value!r}")


@jinja2.pass_context
def _date_filter(context: jinja2.runtime.Context, value: Any) -> str:
    """A date in full ("Thursday, 3 October 2013"), as seen in the recipient's zone."""
    zone = ZoneInfo(context["_timezone"])
    value = _defined(value)
    if isinstance(value, str) and len(value) == 10:
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise TemplateError(f"not a date: {value!r}") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_date(value, "full", locale=context["_locale"])
    return format_date(_aware(value).astimezone(zone).date(), "full", locale=context["_locale"])


@jinja2.pass_context
def _datetime_filter(context: jinja2.runtime.Context, value: Any) -> str:
    """Date, time and zone name, in the recipient's zone and language."""
    zone = ZoneInfo(context["_timezone"])
    locale = context["_locale"]
    local = _aware(value).astimezone(zone)
    zone_name = get_timezone_name(local, width="long", locale=locale)
    day = format_date(local.date(), "full", locale=locale)
    return f"{day}, {format_time(local, 'HH:mm', locale=locale)} ({zone_name})"


@jinja2.pass_context
def _number_filter(context: jinja2.runtime.Context, value: Any) -> str:
    return format_decimal(_defined(value), locale=context["_locale"])


class Renderer:
    """Renders every kind of message in en, fr and es from one templates and locales dir."""

    def __init__(self, templates: Path | None = None, locales: Path | None = None) -> None:
        self.templates = templates or templates_dir()
        self.locales = locales or locales_dir()
        self._environments: dict[str, jinja2.Environment] = {}

    def _environment(self, language: str) -> jinja2.Environment:
        environment = self._environments.get(language)
        if environment is not None:
            return environment
        # A notice must not go out in English to a mission written to in French: a missing
        # catalog is an incomplete installation (CatalogMissing), not a fallback.
        catalog = i18n.translations(language, locales=self.locales)
        # Plain-text notices, not HTML; a user may edit them while the dispatcher runs.
        environment = i18n.environment(
            self.templates, language=language, catalog=catalog, html=False, reload=True
        )
        environment.filters.update(
            date=_date_filter, datetime=_datetime_filter, number=_number_filter
        )
        self._environments[language] = environment
        return environment

    def language_for(self, language: str | None) -> str:
        """The language a recipient will be written to in (English when unsupported)."""
        wanted = (language or "").strip().lower()
        if wanted in LANGUAGES:
            return wanted
        log.warning("no templates in language %r: writing in English", language)
        return "en"

    def render(
        self,
        kind: str,
        *,
        language: str | None,
        timezone: str,
        context: Mapping[str, Any],
    ) -> Rendered:
        """Subject and body of a ``kind`` message for one recipient."""
        if kind not in KINDS:
            raise TemplateError(f"unknown kind of message {kind!r} (known: {', '.join(KINDS)})")
        used = self.language_for(language)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TemplateError(f"unknown time zone {timezone!r}") from None
        environment = self._environment(used)
        variables = {
            **context,
            "_locale": Locale.parse(i18n.FORMAT_LOCALES[used]),
            "_timezone": timezone,
        }
        try:
            subject = environment.get_template(f"{kind}.subject.j2").render(variables)
            body = environment.get_template(f"{kind}.body.j2").render(variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{kind} message ({used}): {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{kind} message: template {exc.name} is missing") from None
        return Rendered(subject=" ".join(subject.split()), body=body.strip(), language=used)


@lru_cache(maxsize=8)
def _renderer_for(templates: Path, locales: Path) -> Renderer:
    return Renderer(templates, locales)


def default_renderer() -> Renderer:
    """The renderer for the configured templates and locales (one per directory pair)."""
    return _renderer_for(templates_dir(), locales_dir())
