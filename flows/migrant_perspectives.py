"""OP2 of 1244: sustained attention to the perspectives of migrants themselves.

Officers log engagement activities (``operative activities add``: date, kind, whether migrants
themselves spoke, evidence link). Each run checks, from adoption to today, that an activity in
which migrants spoke took place at least every ``cadence_weeks`` weeks; each lapse is reported
once to the focal point. Once the High-level Dialogue has ended (the resolution's ``hld_end``
date, else the obligation's due day), a report on the activities is written; done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows._prefect.common import HOLDS_LEASE, current_run_id, message_context, publish
from operative.core import clock as calendar
from operative.core.settings import get_settings
from tasks.activities import advance, engagement, pending_cycles
from tasks.documents import draft_document
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result

PLAYBOOK = "migrant_perspectives"
ALERT_STEP = "lapse-alert"


def _period(info: dict[str, Any]) -> tuple[dt.date, dt.date | None]:
    """From adoption to the end of the Dialogue (or the obligation's due day, or open-ended)."""
    settings = get_settings()
    dates = info["resolution"]["key_dates"] or {}
    adopted = dates.get("adopted") or info["resolution"]["adopted_on"]
    if not adopted:
        raise ValueError("the resolution has no adoption date: the cadence has no start")
    since = dt.date.fromisoformat(adopted)
    if dates.get("hld_end"):
        return since, dt.date.fromisoformat(dates["hld_end"])
    if info["due_at"]:
        due = dt.datetime.fromisoformat(info["due_at"])
        return since, due.astimezone(ZoneInfo(settings.timezone)).date()
    return since, None


def _rows(lapses: list[dict[str, Any]], new: set[int]) -> list[dict[str, Any]]:
    return [
        {
            "asked": "Focal point",
            "about": f"no activity where migrants spoke, {lapse['start']} to {lapse['end']}",
            "days": lapse["days"],
            "alerted": "by this run" if lapse["cycle"] in new else "earlier",
        }
        for lapse in lapses
    ]


@flow(name="migrant_perspectives", log_prints=False, **HOLDS_LEASE)
def migrant_perspectives(
    obligation_id: int, drafted_by: str = "secretariat", cadence_weeks: int = 8
) -> str:
    """Check the cadence of engagement where migrants spoke, alert lapses, report at the end."""
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)
    settings = get_settings()
    now = calendar.now()
    today = now.in_timezone(settings.timezone).date()
    since, end = _period(info)
    # The report is due on the Dialogue's last day: what happened up to that day is reported.
    closing = end is not None and today >= end
    until = min(today, end) if end is not None else today
    if until < since:
        publish(obligation_id, 0, [], "The period of the resolution has not begun")
        return "monitoring"

    found = engagement(obligation_id, info, since, until, cadence_weeks)
    lapses = found["lapses"]
    due = set(pending_cycles(obligation_id, ALERT_STEP, [lapse["cycle"] for lapse in lapses]))
    for lapse in lapses:
        if lapse["cycle"] not in due:
            continue
        outcome = send_message(
            f"obligation:{obligation_id}:{ALERT_STEP}:{lapse['cycle']}",
            "briefing",
            obligation_id,
            {**context, **lapse["alert"], "items": 1, "as_of": until},
            roles=["focal_point"],
        )
        finish_step(
            obligation_id,
            ALERT_STEP,
            lapse["cycle"],
            result={
                "start": lapse["start"],
                "end": lapse["end"],
                "message": outcome["message_id"],
            },
        )
    rows = _rows(lapses, due)
    summary = (
        f"{found['activities']} activities, {found['with_migrants']} where migrants spoke, "
        f"{len(lapses)} lapses"
    )

    if not closing:
        span = max(((end or until) - since).days, 1)
        progress = 5 + int(85 * (until - since).days / span)
        advance(obligation_id, progress)
        publish(obligation_id, progress, rows, f"Cadence checked to {until}: {summary}")
        return "monitoring"

    if step_result(obligation_id, "report") is None:
        report = found["report"]
        document_id = draft_document(
            obligation_id, "report", 0, 1, report["title"], report["body"], drafted_by
        )
        create_markdown_artifact(
            markdown=report["body"],
            key=f"obligation-{obligation_id}-report",
            description=report["title"],
        )
        finish_step(
            obligation_id,
            "report",
            result={
                "document": document_id,
                "activities": found["activities"],
                "with_migrants": found["with_migrants"],
                "lapses": len(lapses),
            },
            progress=95,
        )
    set_status(obligation_id, "done", actor=f"flow:{PLAYBOOK}", note=f"report: {summary}")
    publish(obligation_id, 100, rows, f"Report written: {summary}")
    return "done"
