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

from prefect.artifacts import create_markdown_artifact

from flows._prefect.playbook import Run, playbook
from operative.core import clock
from operative.core.settings import get_settings
from operative.playbooks import inform_member_states as briefings
from tasks.briefings import approved_briefing, briefing_cycles, compile_briefing
from tasks.notify import send_message
from tasks.store import finish_step, step_done

APPROVED_STEP = "briefing-approved"


def _send(run: Run, plan: briefings.Schedule, cycle: int, now: dt.datetime) -> bool:
    """Have the cycle's briefing approved and send it; False while it awaits approval."""
    resolution = run.brief.resolution
    approved = run.approved(
        kind="briefing",
        step=briefings.APPROVAL_STEP,
        approved_step=APPROVED_STEP,
        role="director_general",
        draft=lambda _version, reason: compile_briefing(resolution.id, cycle, now, reason),
        cycle=cycle,
    )
    if approved is None:
        return False
    briefing = approved_briefing(approved.document, resolution.number)
    outcome = send_message(
        f"obligation:{run.obligation_id}:briefing:cycle:{cycle}",
        "briefing",
        run.obligation_id,
        {
            **run.context,
            "as_of": briefing.as_of,
            "items": briefing.items,
            "topic": briefing.topic,
        },
        all_states=True,
        per_state=briefing.per_state,
    )
    finish_step(
        run.obligation_id,
        briefings.SENT_STEP,
        cycle,
        result=outcome,
        progress=plan.progress(cycle),
    )
    return True


def _report(run: Run, plan: briefings.Schedule, description: str) -> None:
    """The cycles so far on the run's page, the bar at the last cycle sent."""
    report = briefing_cycles(run.obligation_id, plan)
    run.publish(plan.progress(report.last_sent()), report.rows, description)
    _cycles_artifact(run, report.markdown)


def _cycles_artifact(run: Run, markdown: str) -> None:
    create_markdown_artifact(
        markdown=markdown,
        key=f"obligation-{run.obligation_id}-summary",
        description="Briefings to Member States: cycles, approvals and deliveries",
    )


@playbook("inform_member_states")
def inform_member_states(run: Run) -> str:
    """Brief every Member State each month on the resolution's obligations, after DG approval."""
    resolution = run.brief.resolution
    plan = briefings.schedule(
        resolution.adopted_on,
        end=resolution.key_dates.get("hld"),
        due_at=run.brief.due_at,
        tz=get_settings().timezone,
    )
    now = clock.now()
    cycle = plan.current(now)
    if cycle < 0:
        return "not_started"

    if not step_done(run.obligation_id, briefings.SENT_STEP, cycle) and not _send(
        run, plan, cycle, now
    ):
        _report(run, plan, f"Briefing {cycle}: awaiting approval")
        return "awaiting_approval"

    # Once the end is past, the cycle handled above is the last one.
    if not (plan.ended(now) and step_done(run.obligation_id, briefings.SENT_STEP, plan.last_cycle)):
        _report(run, plan, f"Briefing {cycle} sent; the next cycle follows")
        return "briefed"
    report = briefing_cycles(run.obligation_id, plan)
    done = run.done(
        f"last briefing (cycle {cycle}) sent",
        report.rows,
        "Every briefing up to the High-level Dialogue sent",
    )
    _cycles_artifact(run, report.markdown)
    return done
