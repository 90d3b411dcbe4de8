"""The JSON API under ``/api``: what the pages show and do, for programs.

Authentication: the session cookie of the pages (mutating requests then need the
``X-CSRF-Token`` header), or a bearer token from ``POST /api/token``. Lists take ``limit``
(at most 200) and ``offset`` and return ``total``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from operative.errors import NotFound
from operative.orchestration import decide_and_resume
from operative.reporting import progress, read_model
from operative.web import actions, present, queries
from operative.web.auth import authenticate, new_api_token
from operative.web.deps import Changer, CurrentUser, Officer, SessionDep, SettingsDep, start_run
from operative.web.params import PathId, QueryId, Shown
from operative.web.schemas import (
    ActivityPublic,
    ApprovalPublic,
    DecisionIn,
    DecisionPublic,
    DeliveryPublic,
    DocumentPublic,
    ErrorPublic,
    EventPublic,
    ObligationDetailPublic,
    ObligationPublic,
    Page,
    PositionPublic,
    PositionsSummaryPublic,
    ReassignIn,
    RecordPublic,
    ReportPublic,
    ResolutionPublic,
    RetryPublic,
    ReviewIn,
    RunPublic,
    TokenPublic,
    UserPublic,
)

ERRORS = {code: {"model": ErrorPublic} for code in (400, 401, 403, 404, 409, 413, 415, 422)}
router = APIRouter(prefix="/api", responses=ERRORS)  # type: ignore[arg-type]


@router.post("/token", response_model=TokenPublic, tags=["auth"])
def token(
    session: SessionDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenPublic:
    """A bearer token for ``Authorization: Bearer …`` (form fields username and password)."""
    user = authenticate(session, username, password)
    if user is None:
        raise HTTPException(401, "Unknown user or wrong password.")
    value, expires_at = new_api_token(user.username)
    return TokenPublic(access_token=value, expires_at=expires_at)


@router.get("/me", response_model=UserPublic, tags=["auth"])
def me(user: CurrentUser) -> UserPublic:
    """Who the request is signed in as."""
    return UserPublic(
        username=user.username, name=user.name, roles=sorted(user.roles), can_change=user.can_change
    )


@router.get("/resolutions", response_model=Page[ResolutionPublic], tags=["register"])
def resolutions(session: SessionDep, user: CurrentUser, shown: Shown) -> Page[ResolutionPublic]:
    page = queries.resolutions_page(session, limit=shown.limit, offset=shown.offset)
    return Page.of(page, ResolutionPublic.of_row)


@router.get("/obligations", response_model=Page[ObligationPublic], tags=["register"])
def obligations(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    shown: Shown,
    resolution: QueryId = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool | None = None,
) -> Page[ObligationPublic]:
    """Obligations in register order, with status, progress, deadline, overdue flag and next
    action (the overview)."""
    lines = queries.obligations(session, resolution_id=resolution, status=status, overdue=overdue)
    base = present.prefect_ui_base(settings.data_dir)
    page = queries.page_of(lines, shown.limit, shown.offset)
    return Page.of(page, lambda line: ObligationPublic.of(line, base))


@router.get(
    "/obligations/{obligation_id}", response_model=ObligationDetailPublic, tags=["register"]
)
def obligation(
    session: SessionDep, settings: SettingsDep, user: CurrentUser, obligation_id: PathId
) -> ObligationDetailPublic:
    """One obligation: approvals, documents, records, activities and failed deliveries."""
    detail = queries.obligation_detail(session, obligation_id)
    return ObligationDetailPublic(
        obligation=ObligationPublic.of(detail.line, present.prefect_ui_base(settings.data_dir)),
        approvals=[ApprovalPublic.of(a) for a in detail.approvals],
        documents=[DocumentPublic.of_row(d) for d in detail.documents],
        records=[RecordPublic.of_row(r) for r in detail.records],
        activities=[ActivityPublic.of_row(a) for a in detail.activities],
        failed_deliveries=[DeliveryPublic.of(d, m) for d, m in detail.failed_deliveries],
    )


@router.get(
    "/obligations/{obligation_id}/events", response_model=Page[EventPublic], tags=["register"]
)
def obligation_events(
    session: SessionDep, user: CurrentUser, obligation_id: PathId, shown: Shown
) -> Page[EventPublic]:
    """The obligation's audit timeline, newest first."""
    queries.obligation_line(session, obligation_id)
    page = queries.events_page(session, obligation_id, limit=shown.limit, offset=shown.offset)
    return Page.of(page, EventPublic.of)


@router.post(
    "/obligations/{obligation_id}/run",
    response_model=RunPublic,
    status_code=202,
    tags=["actions"],
)
def obligation_run(
    request: Request, session: SessionDep, user: Officer, obligation_id: PathId
) -> RunPublic:
    """Start the obligation's playbook flow in the background, as the signed-in officer."""
    launched = start_run(request, session, obligation_id, user=user)
    return RunPublic(
        obligation_id=obligation_id,
        playbook=launched.playbook,
        triggered_by=user.username,
        pid=launched.pid,
        log=launched.log.name,
    )


@router.post(
    "/obligations/{obligation_id}/reassign", response_model=ObligationPublic, tags=["actions"]
)
def obligation_reassign(
    session: SessionDep,
    settings: SettingsDep,
    user: Officer,
    obligation_id: PathId,
    body: ReassignIn,
) -> ObligationPublic:
    """Give the obligation another playbook."""
    actions.reassign(session, obligation_id, user=user, playbook=body.playbook, reason=body.reason)
    line = queries.obligation_line(session, obligation_id)
    return ObligationPublic.of(line, present.prefect_ui_base(settings.data_dir))


@router.get("/approvals", response_model=Page[ApprovalPublic], tags=["approvals"])
def approvals(
    session: SessionDep,
    user: CurrentUser,
    shown: Shown,
    state: Annotated[str, Query(pattern="^(pending|decided|all)$")] = "pending",
) -> Page[ApprovalPublic]:
    """Approvals waiting for a decision (oldest first), or decided, or all."""
    page = queries.approvals_page(session, state=state, limit=shown.limit, offset=shown.offset)
    return Page.of(page, lambda item: ApprovalPublic.of(item.approval, item.document))


@router.post("/approvals/{approval_id}/decision", response_model=DecisionPublic, tags=["approvals"])
async def approval_decision(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Changer,
    approval_id: PathId,
    body: DecisionIn,
) -> DecisionPublic:
    """Approve, or reject with a reason; then resume the flow run waiting for it, if any.

    Role and four-eyes are the core's rules, as for ``operative approve``.
    """
    resumed = await run_in_threadpool(
        decide_and_resume,
        session,
        approval_id,
        username=user.username,
        approve=body.approve,
        reason=body.reason,
        data_dir=settings.data_dir,
        deliver=request.app.state.deliverer,
    )
    return DecisionPublic(approval=ApprovalPublic.of(resumed.approval), resume=resumed.outcome)


@router.get("/deliveries", response_model=Page[DeliveryPublic], tags=["deliveries"])
def deliveries(
    session: SessionDep,
    user: CurrentUser,
    shown: Shown,
    status: Annotated[str | None, Query(pattern="^(pending|sending|sent|failed)$")] = None,
    obligation: QueryId = None,
) -> Page[DeliveryPublic]:
    """Deliveries of the outbox, newest first."""
    page = queries.deliveries_page(
        session, status=status, obligation_id=obligation, limit=shown.limit, offset=shown.offset
    )
    return Page.of(page, lambda row: DeliveryPublic.of(*row))


@router.post("/deliveries/{delivery_id}/retry", response_model=RetryPublic, tags=["deliveries"])
async def delivery_retry(
    session: SessionDep, settings: SettingsDep, user: Officer, delivery_id: PathId
) -> RetryPublic:
    """Give a failed delivery new attempts and send it now."""
    await run_in_threadpool(actions.retry_delivery, session, delivery_id, user=user)
    sent = await run_in_threadpool(actions.send_now, delivery_id, settings.effective_database_url)
    session.expire_all()
    delivery, message = queries.delivery(session, delivery_id)
    return RetryPublic(delivery=DeliveryPublic.of(delivery, message), sent=sent)


@router.get("/positions", response_model=Page[PositionPublic], tags=["positions"])
def positions_list(
    session: SessionDep,
    user: CurrentUser,
    shown: Shown,
    obligation: QueryId = None,
    language: Annotated[str | None, Query(pattern="^[a-z]{2}$")] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    verdict: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[PositionPublic]:
    """One row per Member State of a national-positions campaign (the first by default)."""
    view = queries.positions_view(
        session,
        obligation_id=obligation,
        language=language,
        state=state,
        verdict=verdict,
        search=q,
        limit=shown.limit,
        offset=shown.offset,
    )
    return Page.of(view.lines, PositionPublic.of)


@router.get("/positions/summary", response_model=PositionsSummaryPublic, tags=["positions"])
def positions_summary(
    session: SessionDep, user: CurrentUser, obligation: QueryId = None
) -> PositionsSummaryPublic:
    """Counts of a campaign, by language, and the positions received per day."""
    view = queries.positions_view(session, obligation_id=obligation, limit=1)
    if view.campaign is None or view.campaign.id is None or view.summary is None:
        raise NotFound("no obligation collects national positions")
    campaign = {
        "obligation_id": view.campaign.id,
        "by_language": view.languages,
        "received_by_day": view.received_by_day,
    }
    return PositionsSummaryPublic.model_validate(dataclasses.asdict(view.summary) | campaign)


@router.post(
    "/positions/{obligation_id}/{iso3}/review", response_model=PositionPublic, tags=["positions"]
)
def position_review(
    session: SessionDep, user: Officer, obligation_id: PathId, iso3: str, body: ReviewIn
) -> PositionPublic:
    """Record whether a received national position reflects the resolution."""
    actions.review(session, obligation_id, iso3, user=user, verdict=body.verdict)
    line = next(
        (
            line
            for line in read_model.position_lines(session, obligation_id, search=iso3)
            if line.state.iso3 == iso3.upper()
        ),
        None,
    )
    if line is None:
        raise NotFound(f"{iso3.upper()} is not part of obligation {obligation_id}")
    return PositionPublic.of(line)


@router.get("/calendar", response_model=Page[ObligationPublic], tags=["register"])
def calendar(
    session: SessionDep, settings: SettingsDep, user: CurrentUser, shown: Shown
) -> Page[ObligationPublic]:
    """Open deadlines, soonest (most overdue) first. As iCalendar: ``/calendar.ics``."""
    page = queries.page_of(queries.deadlines(session).open, shown.limit, shown.offset)
    base = present.prefect_ui_base(settings.data_dir)
    return Page.of(page, lambda line: ObligationPublic.of(line, base))


@router.get("/reports/progress", response_model=ReportPublic, tags=["reports"])
def progress_report(
    session: SessionDep, user: CurrentUser, resolution: QueryId = None
) -> ReportPublic:
    """The progress report for the Council, in Markdown (HTML: ``/reports/progress``)."""
    report = progress.build_report(session, resolution_id=resolution)
    return ReportPublic(as_of=report.as_of, markdown=progress.report_markdown(report))
