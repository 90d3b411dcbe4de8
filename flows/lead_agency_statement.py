"""OP3 of 1244: Member States affirm IOM's role as the global lead agency on migration.

Record the affirmation; draft IOM's statement on its lead-agency role as an input to the
High-level Dialogue; the Director General's office approves it (a user with that role who did
not draft it), or rejects it with a reason and the statement is drafted again; circulate it to
every Member State, with a note in the State's language; done once an officer has recorded
where it was used.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows._prefect.common import (
    HOLDS_LEASE,
    current_run_id,
    message_context,
    publish,
    until_approved,
)
from operative.core import clock as calendar
from operative.playbooks import statements
from tasks.activities import document_text, notes_per_state, record_once
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result
from tasks.store_records import has_record

PLAYBOOK = "lead_agency_statement"
APPROVER = "director_general"


@flow(name="lead_agency_statement", log_prints=False, **HOLDS_LEASE)
def lead_agency_statement(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Record the affirmation; draft, approve and circulate IOM's lead-agency statement."""
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)
    source = statements.Source.from_info(info)

    adopted = source.adopted_on
    record_once(
        obligation_id,
        "affirmation",
        kind="affirmation",
        text=statements.affirmation(source),
        actor=f"flow:{PLAYBOOK}",
        occurred_at=dt.datetime(adopted.year, adopted.month, adopted.day, 12, tzinfo=dt.UTC)
        if adopted
        else None,
    )
    publish(obligation_id, 10, [], "Affirmation recorded")

    # The text is built from the register alone; a rejection's reason is kept with the next
    # version as its note, for the drafter to act on.
    text = statements.lead_agency_statement(source)
    approved = until_approved(
        obligation_id,
        kind="statement",
        step="lead-agency-statement",
        approved_step="statement-approved",
        role=APPROVER,
        drafted_by=drafted_by,
        context=context,
        draft=lambda _version, _reason: (text.title, text.body),
        progress=50,
    )
    if approved is None:
        return "awaiting_approval"

    circulated = step_result(obligation_id, "circulated")
    if circulated is None:
        statement = document_text(obligation_id, "statement", approved["document"])
        notes = statements.circulation_notes(source, statement["body"])
        outcome = send_message(
            f"obligation:{obligation_id}:statement:circulation",
            "briefing",
            obligation_id,
            {**context, **notes["en"], "items": 1, "as_of": calendar.now()},
            all_states=True,
            per_state=notes_per_state(notes),
        )
        circulated = finish_step(obligation_id, "circulated", result=outcome, progress=80)

    used = has_record(obligation_id, "usage")
    rows = [
        {
            "asked": "Office of the Director General (approval)",
            "answered": f"approved by {approved['by']} (draft {approved['drafts']})",
        },
        {
            "asked": f"Member States ({circulated['recipients']})",
            "answered": f"{circulated['sent']} sent, {circulated['failed']} failed",
        },
        {"asked": "Officers (where it was used)", "answered": "recorded" if used else "not yet"},
    ]
    if not used:
        publish(obligation_id, 80, rows, "Circulated; waiting for a record of where it was used")
        return "awaiting_usage"
    set_status(obligation_id, "done", actor=f"flow:{PLAYBOOK}", note="its use is recorded")
    publish(obligation_id, 100, rows, "Circulated and used")
    return "done"
