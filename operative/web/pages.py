"""The secretariat's pages: server-rendered HTML, plain forms that POST and redirect (303).

Every page works without JavaScript; htmx only refreshes the positions table as filters change
and appends older timeline entries in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from operative.core.settings import Settings
from operative.errors import NotFound
from operative.models import FINISHED
from operative.orchestration import decide_and_resume
from operative.playbooks import national_positions as positions
from operative.register.obligations import load_playbooks
from operative.reporting import exports, progress, read_model
from operative.reporting.ics import deadlines_ics
from operative.web import actions, present, queries
from operative.web.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGNIN_COOKIE,
    authenticate,
    csrf_matches,
    new_session,
    new_signin_token,
    signin_csrf,
)
from operative.web.deps import (
    Changer,
    CurrentUser,
    Officer,
    SessionDep,
    SettingsDep,
    read_signed_in,
    start_run,
)
from operative.web.params import Limit, Offset, PathId, QueryId, Shown
from operative.web.render import redirect, render

router = APIRouter(include_in_schema=False)

# Each resolution brings its obligations: a page of the overview holds a few of them.
MAX_RESOLUTIONS_PER_PAGE = 50
# The tab a list shows (``?state=`` of the approvals, ``?status=`` of the deliveries).
Tab = Annotated[str, Query(max_length=10)]


def _safe_next(target: str | None) -> str:
    # Only a path of this site: "//evil.example" or "https://…" would make sign-in an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(settings: SettingsDep) -> bool:
    return settings.public_url.startswith("https://")


# --- signing in and out -----------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, settings: SettingsDep, next: str = "/") -> HTMLResponse:
    cookie, csrf = new_signin_token()
    response = render(request, "signin.html", {"signin_csrf": csrf, "next": _safe_next(next)})
    response.set_cookie(
        SIGNIN_COOKIE, cookie, httponly=True, samesite="lax", secure=_secure(settings), path="/"
    )
    return response


@router.post("/signin", response_model=None)
def signin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    if not csrf_matches(signin_csrf(request.cookies.get(SIGNIN_COOKIE)), csrf_token):
        raise HTTPException(403, "The sign-in form expired or was not ours: reload it and retry.")
    user = authenticate(session, username, password)
    if user is None:
        cookie, csrf = new_signin_token()
        response: Response = render(
            request,
            "signin.html",
            {
                "signin_csrf": csrf,
                "next": _safe_next(next),
                "error": "Unknown user or wrong password.",
                "username": username,
            },
            status_code=401,
        )
        response.set_cookie(
            SIGNIN_COOKIE, cookie, httponly=True, samesite="lax", secure=_secure(settings)
        )
        return response
    token, _csrf = new_session(user.username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, user: CurrentUser) -> RedirectResponse:
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not csrf_matches(user.csrf, given if isinstance(given, str) else None):
        raise HTTPException(403, "The form's security token is missing or wrong.")
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- overview and one obligation --------------------------------------------------------------


# The three pages people keep open are ``async``: the user's row and the page's rows are read
# at once (deps.read_signed_in: on the event loop on SQLite, in one worker thread on
# PostgreSQL), and the page renders on the event loop.


@router.get("/", response_class=HTMLResponse)
async def overview(
    request: Request,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_RESOLUTIONS_PER_PAGE)] = queries.OVERVIEW_PER_PAGE,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings

    def read(session: Session) -> queries.Paged[present.ResolutionBlock]:
        prefect = present.prefect_ui_base(settings.data_dir)
        return present.overview(
            queries.overview(session, limit=limit, offset=offset), prefect=prefect
        )

    page = await read_signed_in(request, read)
    return render(
        request, "overview.html", {"page": page, "page_numbers": present.page_numbers(page)}
    )


@router.get("/obligations/{obligation_id}", response_class=HTMLResponse)
async def obligation_page(
    request: Request,
    obligation_id: PathId,
    offset: Offset = 0,
    limit: Limit = queries.DEFAULT_LIMIT,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings

    def read(session: Session) -> dict[str, Any]:
        detail = queries.obligation_detail(session, obligation_id)
        events = queries.events_page(session, obligation_id, limit=limit, offset=offset)
        return {
            "detail": detail,
            "events": present.timeline_entries(events),
            "prefect": present.prefect_ui_base(settings.data_dir),
            "flow_run_url": present.flow_run_url,
            "playbooks": load_playbooks().playbooks,
            "running": actions.running_pid(settings.data_dir, obligation_id),
            "finished": FINISHED,
        }

    context = await read_signed_in(request, read)
    if request.headers.get("HX-Request") and offset:
        return render(request, "_timeline_rows.html", context)
    return render(request, "obligation.html", context)


@router.post("/obligations/{obligation_id}/run")
def obligation_run(
    request: Request, session: SessionDep, user: Officer, obligation_id: PathId
) -> RedirectResponse:
    launched = start_run(request, session, obligation_id, user=user)
    return redirect(
        f"/obligations/{obligation_id}",
        f"Started {launched.playbook} for obligation {obligation_id} (process {launched.pid}); "
        f"its output goes to {launched.log.name}.",
    )


@router.post("/obligations/{obligation_id}/reassign")
def obligation_reassign(
    session: SessionDep,
    user: Officer,
    obligation_id: PathId,
    playbook: Annotated[str, Form(max_length=80)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    actions.reassign(session, obligation_id, user=user, playbook=playbook, reason=reason)
    return redirect(
        f"/obligations/{obligation_id}", f"Obligation {obligation_id} now follows {playbook}."
    )


# --- national positions -----------------------------------------------------------------------


@router.get("/positions", response_class=HTMLResponse)
async def positions_page(
    request: Request,
    obligation: QueryId = None,
    language: Annotated[str | None, Query(max_length=2)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    verdict: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    def read(session: Session) -> queries.PositionsView:
        return queries.positions_view(
            session,
            obligation_id=obligation,
            language=language or None,
            state=state or None,
            verdict=verdict or None,
            search=q or None,
        )

    view = await read_signed_in(request, read)
    filters = {
        "language": language or "",
        "state": state or "",
        "verdict": verdict or "",
        "q": q or "",
    }
    return render(
        request,
        "positions.html",
        {
            "view": view,
            "rows": present.position_rows(view.lines.items),
            "chart": present.submissions_chart(view.received_by_day),
            "filters": filters,
            "states": read_model.POSITION_STATES,
            "verdicts": positions.VERDICTS,
            "verdict_labels": positions.VERDICT_LABELS,
        },
    )


@router.post("/positions/{obligation_id}/{iso3}/review")
def positions_review(
    session: SessionDep,
    user: Officer,
    obligation_id: PathId,
    iso3: str,
    verdict: Annotated[str, Form(max_length=40)],
) -> RedirectResponse:
    actions.review(session, obligation_id, iso3, user=user, verdict=verdict)
    return redirect(
        f"/positions?{urlencode({'obligation': obligation_id})}#state-{iso3.upper()}",
        f"{iso3.upper()}: {positions.VERDICT_LABELS.get(verdict, verdict)}.",
    )


@router.get("/positions/{obligation_id}/{iso3}/file")
def positions_file(
    session: SessionDep, settings: SettingsDep, user: CurrentUser, obligation_id: PathId, iso3: str
) -> FileResponse:
    row = queries.submission_file(session, obligation_id, iso3)
    if row is None or not row.attachment_path:
        raise NotFound(f"no file from {iso3.upper()} for obligation {obligation_id}")
    path = Path(row.attachment_path).resolve()
    if not path.is_relative_to(settings.data_dir.resolve()) or not path.is_file():
        raise NotFound(f"the file from {iso3.upper()} is no longer in the data dir")
    return FileResponse(path, filename=row.attachment_name or path.name)


# --- approvals --------------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(
    request: Request, session: SessionDep, user: CurrentUser, shown: Shown, state: Tab = "pending"
) -> HTMLResponse:
    page = queries.approvals_page(session, state=state, limit=shown.limit, offset=shown.offset)
    # An empty inbox still shows what was decided lately, so the page is never blank.
    recent = (
        queries.approvals_page(session, state="decided", limit=10, offset=0)
        if state == "pending" and page.total == 0
        else None
    )
    history = {
        item.approval.id: queries.approval_history(session, item.approval)
        for item in [*page.items, *(recent.items if recent else [])]
    }
    return render(
        request,
        "approvals.html",
        {
            "page": page,
            "recent": recent,
            "state": state,
            "history": history,
            "states": queries.APPROVAL_STATES,
        },
    )


@router.post("/approvals/{approval_id}/decide")
async def approvals_decide(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Changer,
    approval_id: PathId,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    resumed = await run_in_threadpool(
        decide_and_resume,
        session,
        approval_id,
        username=user.username,
        approve=decision == "approve",
        reason=reason,
        data_dir=settings.data_dir,
        deliver=request.app.state.deliverer,
    )
    return redirect(
        "/approvals",
        f"Approval {approval_id} {resumed.approval.decision} by {user.username}: "
        f"{resumed.outcome}.",
    )


# --- deliveries -------------------------------------------------------------------------------


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request, session: SessionDep, user: CurrentUser, shown: Shown, status: Tab = "failed"
) -> HTMLResponse:
    wanted = None if status in {"", "all"} else status
    page = queries.deliveries_page(session, status=wanted, limit=shown.limit, offset=shown.offset)
    # No failure to show: the latest deliveries instead, so the page is never blank.
    recent = (
        queries.deliveries_page(session, limit=20, offset=0)
        if wanted == "failed" and page.total == 0
        else None
    )
    return render(
        request,
        "deliveries.html",
        {
            "page": page,
            "recent": recent,
            "status": status,
            "states": ("failed", "pending", "sent", "all"),
        },
    )


@router.post("/deliveries/{delivery_id}/retry")
async def deliveries_retry(
    request: Request, session: SessionDep, settings: SettingsDep, user: Officer, delivery_id: PathId
) -> RedirectResponse:
    await run_in_threadpool(actions.retry_delivery, session, delivery_id, user=user)
    sent = await run_in_threadpool(actions.send_now, delivery_id, settings.effective_database_url)
    back = request.headers.get("referer") or "/deliveries"
    target = back if back.startswith(settings.public_url) or back.startswith("/") else "/deliveries"
    message = (
        f"Delivery {delivery_id} sent."
        if sent
        else f"Delivery {delivery_id} was retried but not sent: see its last error."
    )
    return redirect(target, message)


# --- calendar, exports, report ----------------------------------------------------------------


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return render(
        request,
        "calendar.html",
        {"deadlines": queries.deadlines(session), "days_to": present.days_to},
    )


@router.get("/calendar.ics")
def calendar_ics(session: SessionDep, user: CurrentUser) -> Response:
    return Response(
        deadlines_ics(session),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="operative-deadlines.ics"'},
    )


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    context = {
        "campaigns": positions.campaign_ids(session),
        "resolutions": queries.resolution_refs(session),
    }
    session.close()
    return render(request, "exports.html", context)


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/exports/obligations.{extension}")
def export_obligations(
    session: SessionDep, user: CurrentUser, extension: str, resolution: QueryId = None
) -> Response:
    rows = read_model.obligation_rows(session, resolution_id=resolution)
    return _export("obligations", read_model.OBLIGATION_COLUMNS, rows, extension)


@router.get("/exports/positions.{extension}")
def export_positions(
    session: SessionDep, user: CurrentUser, extension: str, obligation: QueryId = None
) -> Response:
    rows = read_model.position_rows(session, positions.campaign(session, obligation))
    return _export("positions", read_model.POSITION_COLUMNS, rows, extension)


def _export(
    name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]], extension: str
) -> Response:
    """``rows`` as ``name.csv`` or ``name.xlsx``, as the extension asks."""
    if extension == "csv":
        return _download(exports.to_csv(columns, rows), "text/csv; charset=utf-8", f"{name}.csv")
    if extension == "xlsx":
        return _download(exports.to_xlsx(name, columns, rows), XLSX, f"{name}.xlsx")
    raise NotFound(f"no export as .{extension} (csv or xlsx)")


@router.get("/reports/progress", response_class=HTMLResponse)
def report_page(session: SessionDep, user: CurrentUser, resolution: QueryId = None) -> HTMLResponse:
    report = progress.build_report(session, resolution_id=resolution)
    response = HTMLResponse(progress.report_html(report))
    # The printable report carries its own stylesheet inline, and no script at all.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


@router.get("/reports/progress.md")
def report_markdown(session: SessionDep, user: CurrentUser, resolution: QueryId = None) -> Response:
    report = progress.build_report(session, resolution_id=resolution)
    return Response(
        progress.report_markdown(report),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="progress-report.md"'},
    )
