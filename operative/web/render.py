"""Server-side HTML: the Jinja2 environment, per language, and the page helpers.

The secretariat's pages are in English; the Member State portal is in the state's language,
with the project's gettext catalogs (``config/locales``, domain ``operative``), the ones the
notices use (:mod:`operative.notify.templates`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import jinja2
import markupsafe
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from operative.core.settings import get_settings
from operative.notify.templates import DOMAIN, LANGUAGES, locales_dir
from operative.reporting.reports import local_time

TEMPLATES_DIR = Path(__file__).parent / "templates"
FLASH_COOKIE = "operative_flash"
# Dates as UN bodies write them in each language (British English).
FORMAT_LOCALES = {"en": "en_GB", "fr": "fr", "es": "es"}

log = logging.getLogger(__name__)


def _local(value: dt.datetime | None, fmt: str = "YYYY-MM-DD HH:mm") -> str:
    return local_time(value, fmt) if value is not None else "—"


def _translations(language: str) -> NullTranslations:
    compiled = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not compiled.is_file():
        # A page in English is better than no page for a mission; the install compiles these.
        log.warning("%s is missing: the portal shows English (run .ci/install)", compiled)
        return NullTranslations()
    return Translations.load(str(locales_dir()), [language], domain=DOMAIN)


# markupsafe's own escaping of a plain string, without the Markup object ``escape`` wraps it
# in (MarkupSafe 3 exposes it at the package level; anything else falls back to ``escape``).
_escape_text: Callable[[str], str] = getattr(markupsafe, "_escape_inner", markupsafe.escape)


def _escape_output(value: Any) -> str:
    """What a template prints for ``{{ value }}``: the same text as markupsafe's ``escape``.

    Jinja calls ``escape`` on every value it prints and gets a new ``Markup`` each time; the
    pages print a few thousand values, and building those objects was about half of a page's
    rendering. The result is only ever joined into the page (or into a block that Jinja
    marks safe itself), so a plain string does.
    """
    kind = type(value)
    if kind is str:
        return _escape_text(value)
    if kind is int:
        return str(value)
    return markupsafe.escape(value)


class _Template(jinja2.Template):
    """A template whose printed values go through :func:`_escape_output`."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled module's functions (page, blocks, macros) share one namespace, where
        # the code imported ``escape`` from jinja2.runtime.
        template.root_render_func.__globals__["escape"] = _escape_output
        return template


@lru_cache(maxsize=len(LANGUAGES))
def environment(language: str) -> jinja2.Environment:
    """The template environment of one language."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # Templates ship with the package: no stat of the file on every render.
        auto_reload=False,
    )
    env.template_class = _Template
    env.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    locale = FORMAT_LOCALES.get(language, "en_GB")
    zone = get_settings().timezone

    def long_date(value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            return str(
                format_datetime(value, "d MMMM y, HH:mm zzzz", tzinfo=ZoneInfo(zone), locale=locale)
            )
        return str(format_date(value, "long", locale=locale))

    env.filters.update(local=_local, long_date=long_date)
    env.globals.update(language=language)
    return env


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: str = "en",
) -> HTMLResponse:
    """A page, with the signed-in user, the CSRF value and a pending flash message."""
    user = getattr(request.state, "principal", None)
    flash = request.cookies.get(FLASH_COOKIE)
    values = {
        "request": request,
        "user": user,
        "csrf": user.csrf if user is not None else None,
        "flash": unquote(flash) if flash else None,
        "path": request.url.path,
        **(context or {}),
    }
    html = environment(language).get_template(name).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, message: str | None = None) -> RedirectResponse:
    """303 See Other to ``url`` (a POST's answer), with a message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(
            FLASH_COOKIE, quote(message[:500]), max_age=60, httponly=True, samesite="lax", path="/"
        )
    return response
