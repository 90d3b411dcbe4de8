"""The Member State portal: ``/portal/{token}``, no sign-in, in the state's language.

The token is the signed, expiring link of
:func:`operative.playbooks.national_positions.portal_link`: it names one campaign and one state,
so a link opens its own state's page and records its own state's position only. A link that does
not verify is refused with 403 (in the three languages: we cannot know whose it was); a genuine
link past its expiry with 410, in its state's language. Files are bounded before they are read
(``Content-Length``) and checked by :func:`operative.playbooks.national_positions.submit`, which
holds the type and size rules: 413 for a file too large, 415 for a type not accepted, nothing
stored either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from operative.core import tokens
from operative.errors import OperativeError
from operative.i18n import LANGUAGE_NAMES, LANGUAGES
from operative.models import (
    FINISHED,
    MemberState,
    Obligation,
    Paragraph,
    Resolution,
    Submission,
)
from operative.playbooks import Playbook
from operative.playbooks import national_positions as positions
from operative.web.auth import CSRF_FIELD, csrf_matches, portal_csrf
from operative.web.deps import SessionDep
from operative.web.render import environment, render

router = APIRouter(prefix="/portal", include_in_schema=False)

# Room for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD_BYTES = 256 * 1024
MAX_TEXT_CHARS = 100_000
_LONG_AGO = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Link:
    token: str
    obligation: Obligation
    paragraph: Paragraph
    resolution: Resolution
    state: MemberState
    language: str

    @property
    def state_name(self) -> str:
        names = {"fr": self.state.name_fr, "es": self.state.name_es}
        return names.get(self.language) or self.state.name_en

    @property
    def closed(self) -> bool:
        return self.obligation.status in FINISHED


class NotAccepted(OperativeError):
    """A submission the portal does not take: the form comes back with ``status_code`` and the
    ``error`` it explains (a key of the template's messages)."""

    def __init__(self, status_code: int, error: str) -> None:
        super().__init__(error)
        self.status_code = self.http_status = status_code
        self.error = error


class Refused(OperativeError):
    """A link that opens nothing: ``reason`` is invalid, expired or unknown."""

    def __init__(self, status_code: int, reason: str, languages: tuple[str, ...]) -> None:
        super().__init__(reason)
        self.status_code = self.http_status = status_code
        self.reason = reason
        self.languages = languages


def _language(preferred: str | None, fallback: str) -> str:
    if preferred in LANGUAGES:
        return str(preferred)
    return fallback if fallback in LANGUAGES else "en"


def open_link(session: Session, token: str, *, lang: str | None = None) -> Link:
    """The campaign and state a link speaks for; :class:`Refused` otherwise."""
    everyone = tuple(LANGUAGES)
    try:
        obligation_id, iso3 = positions.read_portal_token(token)
    except tokens.TokenError:
        try:
            _obligation_id, iso3 = positions.read_portal_token(token, at=_LONG_AGO)
        except tokens.TokenError:
            raise Refused(403, "invalid", everyone) from None
        state = session.get(MemberState, iso3)
        first = _language(lang, state.language if state else "en")
        raise Refused(410, "expired", (first,)) from None
    state = session.get(MemberState, iso3)
    obligation = session.get(Obligation, obligation_id)
    if state is None or obligation is None or obligation.playbook != Playbook.national_positions:
        raise Refused(404, "unknown", everyone)
    paragraph = session.get(Paragraph, obligation.paragraph_id)
    resolution = session.get(Resolution, paragraph.resolution_id) if paragraph else None
    if paragraph is None or resolution is None:
        raise Refused(404, "unknown", everyone)
    return Link(token, obligation, paragraph, resolution, state, _language(lang, state.language))


def refusal_page(request: Request, refused: Refused) -> HTMLResponse:
    """The page of a refused link: the same message in each language that may be the reader's."""
    fragments = [
        Markup(
            environment(language)
            .get_template("_portal_refusal.html")
            .render(reason=refused.reason, language=language)
        )
        for language in refused.languages
    ]
    response = render(
        request,
        "portal_refused.html",
        {"fragments": fragments, "reason": refused.reason},
        status_code=refused.status_code,
        language=refused.languages[0],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(
    request: Request,
    session: Session,
    link: Link,
    *,
    refused: NotAccepted | None = None,
    sent: bool = False,
    text: str = "",
) -> HTMLResponse:
    submission = session.exec(
        select(Submission).where(
            Submission.obligation_id == link.obligation.id,
            Submission.member_state_iso3 == link.state.iso3,
        )
    ).first()
    context: dict[str, Any] = {
        "link": link,
        "submission": submission,
        "portal_csrf": portal_csrf(link.token),
        "error": refused.error if refused else None,
        "sent": sent,
        "text": text or (submission.text if submission and submission.text else ""),
        "accepted": ", ".join(sorted(positions.ATTACHMENT_TYPES)),
        "accept_attr": ",".join(sorted(positions.ATTACHMENT_TYPES)),
        "max_megabytes": positions.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "language_names": LANGUAGE_NAMES,
    }
    status_code = refused.status_code if refused else 200
    response = render(
        request, "portal.html", context, status_code=status_code, language=link.language
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{token}", response_class=HTMLResponse)
def portal_page(
    request: Request, session: SessionDep, token: str, lang: str | None = None, sent: int = 0
) -> HTMLResponse:
    try:
        link = open_link(session, token, lang=lang)
    except Refused as refused:
        return refusal_page(request, refused)
    return _page(request, session, link, sent=bool(sent))


@router.post("/{token}", response_model=None)
async def portal_submit(
    request: Request, session: SessionDep, token: str, lang: str | None = None
) -> Response:
    """Record the state's position (a text, a file or both), then show the page again."""
    try:
        link = open_link(session, token, lang=lang)
    except Refused as refused:
        return refusal_page(request, refused)
    try:
        _check_length(request.headers.get("content-length"))
        text, attachment = await _read_form(request, token)
    except NotAccepted as refused:
        return _page(request, session, link, refused=refused)
    try:
        _record(session, link, text, attachment)
    except NotAccepted as refused:
        return _page(request, session, link, refused=refused, text=text)
    suffix = f"&lang={link.language}" if lang in LANGUAGES else ""
    return RedirectResponse(f"/portal/{token}?sent=1{suffix}", status_code=303)


Attachment = tuple[str, bytes]


def _check_length(length: str | None) -> None:
    """Refuse a request of unknown size, or too large for any accepted file, before reading it."""
    if length is None or not length.isdigit():
        raise NotAccepted(411, "length")
    if int(length) > positions.MAX_ATTACHMENT_BYTES + FORM_OVERHEAD_BYTES:
        raise NotAccepted(413, "too_large")


async def _read_form(request: Request, token: str) -> tuple[str, Attachment | None]:
    """The form's text and file, once its CSRF token matches the link's."""
    # The context closes the uploaded file's spool however the request ends.
    async with request.form(max_files=1, max_fields=8) as form:
        given = form.get(CSRF_FIELD)
        if not csrf_matches(portal_csrf(token), given if isinstance(given, str) else None):
            raise NotAccepted(403, "form")
        raw_text = form.get("position_text")
        text = raw_text if isinstance(raw_text, str) else ""
        if len(text) > MAX_TEXT_CHARS:
            raise NotAccepted(413, "text_too_long")
        upload = form.get("position_file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return text, None
        # One byte past the limit is enough for the core to refuse it as too large.
        return text, (upload.filename, await upload.read(positions.MAX_ATTACHMENT_BYTES + 1))


def _record(session: Session, link: Link, text: str, attachment: Attachment | None) -> None:
    """Submit the position through the core (which holds the rules) and commit it."""
    try:
        positions.submit(
            session,
            link.obligation.id or 0,
            link.state.iso3,
            text=text,
            attachment=attachment,
            actor=f"portal:{link.state.iso3}",
        )
        session.commit()
    except positions.FileTooLarge:
        raise NotAccepted(413, "too_large") from None
    except positions.UnsupportedFileType:
        raise NotAccepted(415, "file_type") from None
    except positions.SubmissionError:
        session.rollback()
        if link.closed:
            raise NotAccepted(409, "closed") from None
        empty_file = attachment is not None and not attachment[1]
        raise NotAccepted(422, "empty_file" if empty_file else "empty") from None
