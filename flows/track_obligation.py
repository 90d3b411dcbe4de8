"""The generic playbook, for any paragraph no other playbook fits.

The owner is the obligation's actor role (the secretariat when that is not a role operative
writes to). The owner is reminded 14 days before the deadline, and once a week while the
obligation is overdue; each stage is sent once. The obligation is done once evidence is
recorded against it; a declaratory paragraph also once its affirmation is recorded.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows._prefect.common import HOLDS_LEASE, current_run_id, message_context, publish
from operative.core import clock as calendar
from operative.core.settings import get_settings
from operative.notify.recipients import ROLES
from operative.playbooks import statements
from tasks.activities import facts
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result

PLAYBOOK = "track_obligation"
REMIND_BEFORE = dt.timedelta(days=14)


def _stage(due: dt.datetime, now: dt.datetime) -> str | None:
    """The reminder due at ``now``: before the deadline, or the week of being overdue."""
    if now >= due:
        return f"overdue-{(now - due).days // 7}"
    if now >= due - REMIND_BEFORE:
        return "reminder-before"
    return None


@flow(name="track_obligation", log_prints=False, **HOLDS_LEASE)
def track_obligation(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Remind the owner before and after the deadline; done once evidence is recorded."""
    # ``drafted_by`` is unused: this playbook drafts nothing, but every playbook is started alike.
    del drafted_by
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)
    known = facts(obligation_id)
    declaratory = known["kind"] == "declaratory"
    closing_kinds = ("affirmation", "evidence") if declaratory else ("evidence",)
    proof = [(k, r) for k in closing_kinds for r in known["records"].get(k, [])]
    owner = info["actor_role"] if info["actor_role"] in ROLES else "secretariat"

    if proof:
        kind, record = proof[0]
        note = f"marked done with {kind} (record {record['id']}): {record['text']}"
        set_status(obligation_id, "done", actor=f"flow:{PLAYBOOK}", note=note[:500])
        publish(obligation_id, 100, [{"asked": owner, "answered": note}], "Done, with evidence")
        return "done"

    waiting = "awaiting_affirmation" if declaratory else "awaiting_evidence"
    due = context["due"]
    now = calendar.now()
    stage = _stage(due, now) if due is not None else None
    if stage is not None and step_result(obligation_id, stage) is None:
        notice = statements.tracking_notice(
            statements.Source.from_info(info),
            obligation_id=obligation_id,
            due_at=due,
            at=now,
            timezone=get_settings().timezone,
            declaratory=declaratory,
        )
        outcome = send_message(
            f"obligation:{obligation_id}:{stage}",
            "briefing",
            obligation_id,
            {**context, **notice, "items": 1, "as_of": now},
            roles=[owner],
        )
        finish_step(obligation_id, stage, result={"to": owner, "message": outcome["message_id"]})
    rows = [{"asked": owner, "answered": f"reminded ({stage})" if stage else "not yet reminded"}]
    publish(obligation_id, 0, rows, f"Waiting for evidence; owner: {owner}")
    return waiting
