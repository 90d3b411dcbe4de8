"""OP4 of 1244: Member States are encouraged to share their national positions.

Invite every active Member State, in its language, with a submission link of its own; remind
those that have not answered when config/reminders.yaml says (the hourly sweep does too: both
send each stage once between them); officers review each position that
arrives (reflects / partially / does not reflect the resolution); once the deadline has passed
and every position received is reviewed, the obligation is done.

Each run does what is due as of the business clock (``operative.core.clock.now``) and skips
what an earlier run did, so the flow runs on a schedule, or again after a crash, and sends
nothing twice.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact

from flows._prefect.playbook import Run, playbook
from operative.core import clock
from operative.errors import Invalid
from operative.playbooks import national_positions as positions
from tasks.notify import send_message
from tasks.positions import campaign_status, invite_states
from tasks.reminders import send_due_reminders
from tasks.store import finish_step, step_done


@playbook("national_positions")
def national_positions(run: Run) -> str:
    """Invite every Member State to share its national position, remind, review, summarise."""
    obligation_id, context = run.obligation_id, run.context
    deadline = run.brief.due_at
    if deadline is None:
        raise Invalid(f"obligation {obligation_id} has no deadline to collect positions by")
    expires = positions.link_expiry(deadline)
    now = clock.now()

    if not step_done(obligation_id, "invited"):
        links = invite_states(obligation_id, expires)
        invited = send_message(
            f"obligation:{obligation_id}:invitation:cycle:0",
            "invitation",
            obligation_id,
            {**context, "deadline": deadline},
            all_states=True,
            per_state=links,
        )
        finish_step(obligation_id, "invited", result=invited, progress=20)

    send_due_reminders(obligation_id)

    closed = now >= deadline
    status = campaign_status(obligation_id, deadline, closed)
    description = f"National positions: {status.counts}"
    state = (
        "collecting" if not closed else "awaiting_review" if status.summary.unreviewed else "done"
    )
    if state == "done":
        run.done(status.counts, status.rows, description)
    else:
        run.publish(status.progress, status.rows, description)
    create_markdown_artifact(
        markdown=status.markdown,
        key=f"obligation-{obligation_id}-summary",
        description="National positions: matrix summary and verdicts",
    )
    return state
