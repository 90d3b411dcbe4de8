"""OP2 of 1244: sustained attention to the perspectives of migrants themselves.

Officers log engagement activities (``operative activities add``: date, kind, whether migrants
themselves spoke, evidence link). Each run checks, from adoption to today, that an activity in
which migrants spoke took place at least every ``cadence_weeks`` weeks; each lapse is reported
once to the focal point. Once the High-level Dialogue has ended (the resolution's ``hld_end``
date, else the obligation's due day), a report on the activities is written; done.
"""

from __future__ import annotations

import datetime as dt

from prefect.artifacts import create_markdown_artifact

from flows._prefect.playbook import Run, playbook
from operative.core import clock
from operative.core.settings import get_settings
from operative.playbooks import migrant_perspectives as rules
from tasks.activities import Found, Lapse, advance, engagement, pending_cycles
from tasks.documents import draft_document
from tasks.notify import send_message
from tasks.store import StepResult, finish_step, step_done

ALERT_STEP = "lapse-alert"


class Alerted(StepResult):
    """A lapse reported to the focal point, and the message that did."""

    start: dt.date
    end: dt.date
    message: int


class Reported(StepResult):
    """The closing report: its document and what it counted."""

    document: int
    activities: int
    with_migrants: int
    lapses: int


def _alert_lapses(run: Run, lapses: tuple[Lapse, ...], as_of: dt.date) -> set[int]:
    """Tell the focal point of each lapse not reported yet; the cycles alerted now."""
    due = set(pending_cycles(run.obligation_id, ALERT_STEP, [lapse.cycle for lapse in lapses]))
    for lapse in (lapse for lapse in lapses if lapse.cycle in due):
        outcome = send_message(
            f"obligation:{run.obligation_id}:{ALERT_STEP}:{lapse.cycle}",
            "briefing",
            run.obligation_id,
            {**run.context, **lapse.alert, "items": 1, "as_of": as_of},
            roles=["focal_point"],
        )
        alerted = Alerted(start=lapse.start, end=lapse.end, message=outcome.message_id)
        finish_step(run.obligation_id, ALERT_STEP, lapse.cycle, result=alerted)
    return due


def _rows(lapses: tuple[Lapse, ...], new: set[int]) -> list[dict[str, str | int]]:
    return [
        {
            "asked": "Focal point",
            "about": f"no activity where migrants spoke, {lapse.start} to {lapse.end}",
            "days": lapse.days,
            "alerted": "by this run" if lapse.cycle in new else "earlier",
        }
        for lapse in lapses
    ]


def _write_report(run: Run, found: Found) -> None:
    """The closing report, as a document and on the run's page (once)."""
    if step_done(run.obligation_id, "report"):
        return
    report = found.report
    document_id = draft_document(
        run.obligation_id, "report", 0, 1, report.title, report.body, run.drafted_by
    )
    create_markdown_artifact(
        markdown=report.body,
        key=f"obligation-{run.obligation_id}-report",
        description=report.title,
    )
    result = Reported(
        document=document_id,
        activities=found.activities,
        with_migrants=found.with_migrants,
        lapses=len(found.lapses),
    )
    finish_step(run.obligation_id, "report", result=result, progress=95)


@playbook("migrant_perspectives")
def migrant_perspectives(run: Run, cadence_weeks: int = rules.DEFAULT_CADENCE_WEEKS) -> str:
    """Check the cadence of engagement where migrants spoke, alert lapses, report at the end."""
    zone = get_settings().timezone
    today = clock.now().in_timezone(zone).date()
    window = rules.window(run.brief, today=today, timezone=zone)
    if not window.begun:
        run.publish(0, [], "The period of the resolution has not begun")
        return "monitoring"

    found = engagement(run.brief, window.since, window.until, cadence_weeks)
    rows = _rows(found.lapses, _alert_lapses(run, found.lapses, window.until))
    summary = (
        f"{found.activities} activities, {found.with_migrants} where migrants spoke, "
        f"{len(found.lapses)} lapses"
    )
    if not window.closing:
        advance(run.obligation_id, window.progress)
        run.publish(window.progress, rows, f"Cadence checked to {window.until}: {summary}")
        return "monitoring"
    _write_report(run, found)
    return run.done(f"report: {summary}", rows, f"Report written: {summary}")
