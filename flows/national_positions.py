"""OP4 of 1244: Member States are encouraged to share their national positions.

Invite every active Member State, in its language, with a submission link of its own; remind
those that have not answered shortly before the deadline; officers review each position that
arrives (reflects / partially / does not reflect the resolution); once the deadline has passed
and every position received is reviewed, the obligation is done.

Each run does what is due as of the business clock (``operative.core.clock.now``) and skips
what an earlier run did, so the flow runs on a schedule, or again after a crash, and sends
nothing twice.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows._prefect.common import HOLDS_LEASE, current_run_id, message_context, publish
from operative.core import clock as calendar
from operative.playbooks import national_positions as positions
from tasks.notify import send_message
from tasks.positions import campaign_status, invite_states, states_to_remind
from tasks.store import begin, finish_step, set_status, step_result

PLAYBOOK = "national_positions"
# One reminder, this long before the deadline, to every state invited before then that has not
# answered (an invitation sent later already names the deadline). Issue 5 brings a fuller policy.
REMINDER_BEFORE = dt.timedelta(days=14)


@flow(name="national_positions", log_prints=False, **HOLDS_LEASE)
def national_positions(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Invite every Member State to share its national position, remind, review, summarise."""
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)
    deadline: dt.datetime | None = context["due"]
    if deadline is None:
        raise ValueError(f"obligation {obligation_id} has no deadline to collect positions by")
    expires = positions.link_expiry(deadline)
    now = calendar.now()

    if step_result(obligation_id, "invited") is None:
        links = invite_states(obligation_id, expires)
        outcome = send_message(
            f"obligation:{obligation_id}:invitation:cycle:0",
            "invitation",
            obligation_id,
            {**context, "deadline": deadline},
            all_states=True,
            per_state=links,
        )
        finish_step(obligation_id, "invited", result=outcome, progress=20)

    if (
        deadline - REMINDER_BEFORE <= now < deadline
        and step_result(obligation_id, "reminder") is None
    ):
        links = states_to_remind(obligation_id, deadline - REMINDER_BEFORE, expires)
        outcome = {"recipients": 0}
        if links:
            outcome = send_message(
                f"obligation:{obligation_id}:reminder:cycle:0",
                "reminder",
                obligation_id,
                {
                    **context,
                    "deadline": deadline,
                    "days_left": positions.days_left(deadline, at=now),
                },
                states=sorted(links),
                per_state=links,
            )
        finish_step(obligation_id, "reminder", result=outcome)

    closed = now >= deadline
    status = campaign_status(obligation_id, deadline, closed)
    counts = (
        f"{status['invited']} invited, {status['reminded']} reminded, "
        f"{status['received']} received, {status['reviewed']} reviewed"
    )
    publish(obligation_id, status["progress"], status["rows"], f"National positions: {counts}")
    create_markdown_artifact(
        markdown=status["markdown"],
        key=f"obligation-{obligation_id}-summary",
        description="National positions: matrix summary and verdicts",
    )
    if not closed:
        return "collecting"
    if status["unreviewed"]:
        return "awaiting_review"
    set_status(obligation_id, "done", actor=f"flow:{PLAYBOOK}", note=counts)
    return "done"
