"""Server-side HTML: the Jinja2 environment, per language, and the page helpers.

The secretariat's pages are in English; the Member State portal is in the state's language,
with the project's gettext catalogs (``config/locales``, domain ``operative``), the ones the
notices use; the environment is :func:`operative.i18n.environment`'s.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Any
from urllib.parse import quote, unquote

import jinja2
import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from operative import i18n

TEMPLATES_DIR = Path(__file__).parent / "templates"
FLASH_COOKIE = "operative_flash"


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


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(language: str) -> jinja2.Environment:
    """The template environment of one language."""
    # A page in English is better than no page for a mission: a missing catalog is logged.
    catalog = i18n.translations(language, required=False)
    env = i18n.environment(TEMPLATES_DIR, language=language, catalog=catalog, html=True)
    env.template_class = _Template
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
