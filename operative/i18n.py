"""Languages, catalogs and the one Jinja2 environment factory, for notices, pages and reports.

operative writes in English, French and Spanish. Every text in a language other than English
comes from the ``operative`` gettext catalogs of ``config/locales/`` (``.po`` sources compiled
to ``.mo`` by ``.ci/install``): the notices' and pages' ``{% trans %}`` blocks and the texts the
playbooks compose in Python (through :func:`gettext`), so a translator has one place to look.

:func:`environment` builds every Jinja2 environment: the notices (``config/templates``), the
pages (``operative/web/templates``) and the progress report (``operative/templates``) share its
loader, strictness, whitespace handling, gettext install and filters. Times are shown in the
configured zone (Geneva by default) by :func:`local_time`. Importing this module is cheap:
Jinja2 and Babel load when an environment or a catalog is first asked for.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import ZoneInfo

import pendulum

from operative.core.settings import get_settings
from operative.errors import OperativeError

if TYPE_CHECKING:
    import jinja2
    from babel.support import NullTranslations

# The working languages, as a type and as the tuple of its values (English first: the default).
Language = Literal["en", "fr", "es"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
# Each language by its own name, as a reader of that language looks for it in a list.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español"}
DOMAIN = "operative"
# The locale used for dates and numbers in each language (British English, as UN bodies write).
FORMAT_LOCALES = {"en": "en_GB", "fr": "fr", "es": "es"}

log = logging.getLogger(__name__)


class CatalogMissing(OperativeError):
    """A compiled translation catalog is missing: the installation is incomplete."""


def locales_dir() -> Path:
    return get_settings().config_dir / "locales"


def translations(
    language: str, *, locales: Path | None = None, required: bool = True
) -> NullTranslations:
    """The compiled catalog of ``language``; without one, :class:`CatalogMissing` when
    ``required``, else English with a logged warning."""
    from babel.support import NullTranslations, Translations

    folder = locales or locales_dir()
    compiled = folder / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if compiled.is_file():
        return Translations.load(str(folder), [language], domain=DOMAIN)
    if required:
        raise CatalogMissing(
            f"{compiled} is missing: compile the catalogs with "
            f"`pybabel compile -d {folder} -D {DOMAIN}` (.ci/install does)"
        )
    log.warning("%s is missing: showing English (run .ci/install)", compiled)
    return NullTranslations()


@lru_cache(maxsize=len(LANGUAGES))
def _catalog(language: str, locales: Path) -> NullTranslations:
    return translations(language, locales=locales)


def gettext(language: str, message: str) -> str:
    """``message`` (an English msgid) in ``language``, from the configured catalogs; English
    itself, and any language operative does not write in, get ``message`` as it is."""
    if language == "en" or language not in LANGUAGES:
        return message
    return _catalog(language, locales_dir()).gettext(message)


# The name pybabel extracts by default, so the texts it marks reach the catalog template.
def N_(message: str) -> str:
    """Marks an English text for the catalogs where it is written; :func:`gettext` translates it."""
    return message


# The formats pages use most, as strftime patterns: pendulum's formatter costs ~60 us a
# call, which a page of 175 Member States times three dates turns into tens of ms.
_STRFTIME = {"YYYY-MM-DD HH:mm": "%Y-%m-%d %H:%M", "YYYY-MM-DD": "%Y-%m-%d"}


def aware(value: dt.datetime) -> dt.datetime:
    """A stored time with its zone: a naive one (from a raw query) is UTC, as pendulum reads it."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def local_time(
    value: dt.datetime | None, fmt: str = "YYYY-MM-DD HH:mm", *, zone: str | None = None
) -> str:
    """A stored UTC time in ``zone``, by default the configured one (Geneva); empty for none.

    Every time a person reads is shown through here (or :func:`local_formatter`), so one
    instant reads as the same local day on a page, in a report, a CLI table and a notice.
    """
    if value is None:
        return ""
    zone = zone or get_settings().timezone
    pattern = _STRFTIME.get(fmt)
    if pattern is not None:
        return aware(value).astimezone(ZoneInfo(zone)).strftime(pattern)
    return str(pendulum.instance(value).in_timezone(zone).format(fmt))


def local_formatter(fmt: str = "YYYY-MM-DD HH:mm") -> Callable[[dt.datetime | None], str]:
    """:func:`local_time` with the zone and pattern looked up once, for a page of rows."""
    pattern = _STRFTIME.get(fmt)
    if pattern is None:
        return lambda value: local_time(value, fmt)
    zone = ZoneInfo(get_settings().timezone)
    utc = dt.UTC
    # Rows of one page share many times (a campaign invites every state at once).
    made: dict[dt.datetime, str] = {}

    def local(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        text = made.get(value)
        if text is None:
            stamped = value if value.tzinfo is not None else value.replace(tzinfo=utc)
            text = made[value] = stamped.astimezone(zone).strftime(pattern)
        return text

    return local


def local_or_dash(value: dt.datetime | None, fmt: str = "YYYY-MM-DD HH:mm") -> str:
    """:func:`local_time`, with a dash where there is no time (a table cell, a CLI column)."""
    return local_time(value, fmt) if value is not None else "—"


def _long_date_filter(language: str) -> Callable[[dt.datetime | dt.date | None], str]:
    from babel.dates import format_date, format_datetime

    locale = FORMAT_LOCALES.get(language, "en_GB")
    zone = ZoneInfo(get_settings().timezone)

    def long_date(value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            return str(format_datetime(value, "d MMMM y, HH:mm zzzz", tzinfo=zone, locale=locale))
        return str(format_date(value, "long", locale=locale))

    return long_date


def environment(
    templates: Path,
    *,
    language: str,
    catalog: NullTranslations,
    html: bool,
    reload: bool = False,
) -> jinja2.Environment:
    """A strict Jinja2 environment over one template folder, with ``catalog`` installed for
    ``{% trans %}`` and the shared filters (``local``: a time in the configured zone;
    ``long_date``: a date written out in ``language``).

    ``html`` escapes every printed value; ``reload`` re-reads an edited template (the notices
    are a user's configuration; pages and the report ship with the package).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=html,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=reload,
    )
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(local=local_or_dash, long_date=_long_date_filter(language))
    env.globals.update(language=language)
    return env
