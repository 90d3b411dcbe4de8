"""OP1 of 1244: the Director General keeps Member States fully informed of the preparations.

Every month from adoption until the High-level Dialogue (a cycle): compile a briefing on the
state of all of the resolution's obligations in English, French and Spanish; the Director
General's office approves it, or rejects it with a reason and a redraft goes back; send it to
every Member State in its language; record the deliveries. Done once the Dialogue has begun
and the last cycle before it was sent.

Each run handles the cycle running on the business clock (``operative.core.clock.now``): a
cycle that no run reached is skipped rather than sent late, since a stale briefing informs
no one. Steps are recorded per cycle, so a re-run sends nothing twice.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows._prefect.common import (
    HOLDS_LEASE,
    current_run_id,
    message_context,
    publish,
    until_approved,
)
from operative.core import clock as calendar
from operative.core.settings import get_settings
from operative.playbooks import inform_member_states as briefings
from tasks.briefings import approved_briefing, briefing_cycles, compile_briefing
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result

PLAYBOOK = "inform_member_states"
APPROVED_STEP = "briefing-approved"


def _draft(resolution_id: int, cycle: int, now: dt.datetime, reason: str | None) -> tuple[str, str]:
    draft = compile_briefing(resolution_id, cycle, now, reason)
    return draft["title"], draft["body"]


@flow(name="inform_member_states", log_prints=False, **HOLDS_LEASE)
def inform_member_states(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Brief every Member State each month on the resolution's obligations, after DG approval."""
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)
    resolution = context["resolution"]
    hld = resolution["key_dates"].get("hld")
    plan = briefings.schedule(
        resolution["adopted_on"],
        end=dt.date.fromisoformat(hld) if hld else None,
        due_at=context["due"],
        tz=get_settings().timezone,
    )
    now = calendar.now()
    cycle = plan.current(now)
    if cycle < 0:
        return "not_started"

    if step_result(obligation_id, briefings.SENT_STEP, cycle) is None:
        approved = until_approved(
            obligation_id,
            kind="briefing",
            step=briefings.APPROVAL_STEP,
            approved_step=APPROVED_STEP,
            role="director_general",
            drafted_by=drafted_by,
            context=context,
            draft=lambda _version, reason: _draft(resolution["id"], cycle, now, reason),
            cycle=cycle,
        )
        if approved is None:
            _report(obligation_id, plan, f"Briefing {cycle}: awaiting approval")
            return "awaiting_approval"

        briefing = approved_briefing(approved["document"], resolution["number"])
        outcome = send_message(
            f"obligation:{obligation_id}:briefing:cycle:{cycle}",
            "briefing",
            obligation_id,
            {
                **context,
                "as_of": briefing["as_of"],
                "items": briefing["items"],
                "topic": briefing["topic"],
            },
            all_states=True,
            per_state=briefing["per_state"],
        )
        finish_step(
            obligation_id, briefings.SENT_STEP, cycle, result=outcome, progress=plan.progress(cycle)
        )

    # Once the end is past, the cycle handled above is the last one.
    finished = plan.ended(now) and (
        step_result(obligation_id, briefings.SENT_STEP, plan.last_cycle) is not None
    )
    if not finished:
        _report(obligation_id, plan, f"Briefing {cycle} sent; the next cycle follows")
        return "briefed"
    set_status(
        obligation_id, "done", actor=f"flow:{PLAYBOOK}", note=f"last briefing (cycle {cycle}) sent"
    )
    _report(obligation_id, plan, "Every briefing up to the High-level Dialogue sent", progress=100)
    return "done"


def _report(
    obligation_id: int, plan: briefings.Schedule, description: str, progress: int | None = None
) -> None:
    report = briefing_cycles(obligation_id, plan)
    if progress is None:
        progress = plan.progress(max((r["cycle"] for r in report["rows"] if r["sent"]), default=-1))
    publish(obligation_id, progress, report["rows"], description)
    create_markdown_artifact(
        markdown=report["markdown"],
        key=f"obligation-{obligation_id}-summary",
        description="Briefings to Member States: cycles, approvals and deliveries",
    )
