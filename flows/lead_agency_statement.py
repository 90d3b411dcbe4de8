"""OP3 of 1244: Member States affirm IOM's role as the global lead agency on migration.

Record the affirmation; draft IOM's statement on its lead-agency role as an input to the
High-level Dialogue; the Director General's office approves it (a user with that role who did
not draft it), or rejects it with a reason and the statement is drafted again; circulate it to
every Member State, with a note in the State's language; done once an officer has recorded
where it was used.
"""

from __future__ import annotations

import datetime as dt

from flows._prefect.playbook import Run, playbook
from operative.core import clock
from operative.playbooks import statements
from tasks.activities import document_text, notes_per_state, record_once
from tasks.notify import Sent, send_message
from tasks.store import finish_step, step_result
from tasks.store_records import has_record

APPROVER = "director_general"


def _affirmed_at(source: statements.Source) -> dt.datetime | None:
    """Noon UTC on the day of adoption: the same date in Geneva and in New York."""
    adopted = source.adopted_on
    return (
        dt.datetime(adopted.year, adopted.month, adopted.day, 12, tzinfo=dt.UTC)
        if adopted
        else None
    )


def _circulate(run: Run, source: statements.Source, document: int) -> Sent:
    """Send the approved statement to every Member State, with a note in its language."""
    statement = document_text(run.obligation_id, "statement", document)
    notes = statements.circulation_notes(source, statement.body)
    return send_message(
        f"obligation:{run.obligation_id}:statement:circulation",
        "briefing",
        run.obligation_id,
        {**run.context, **notes["en"], "items": 1, "as_of": clock.now()},
        all_states=True,
        per_state=notes_per_state(notes),
    )


@playbook("lead_agency_statement")
def lead_agency_statement(run: Run) -> str:
    """Record the affirmation; draft, approve and circulate IOM's lead-agency statement."""
    ob, source = run.obligation_id, statements.Source.of(run.brief)
    record_once(
        ob,
        "affirmation",
        kind="affirmation",
        text=statements.affirmation(source),
        actor=run.actor,
        occurred_at=_affirmed_at(source),
    )
    run.publish(10, [], "Affirmation recorded")

    # The text is built from the register alone; a rejection's reason is kept with the next
    # version as its note, for the drafter to act on.
    text = statements.lead_agency_statement(source)
    approved = run.approved(
        kind="statement",
        step="lead-agency-statement",
        approved_step="statement-approved",
        role=APPROVER,
        draft=lambda _version, _reason: text,
        progress=50,
    )
    if approved is None:
        return "awaiting_approval"

    circulated = step_result(ob, "circulated", Sent)
    if circulated is None:
        circulated = _circulate(run, source, approved.document)
        finish_step(ob, "circulated", result=circulated, progress=80)

    used = has_record(ob, "usage")
    rows = [
        {
            "asked": "Office of the Director General (approval)",
            "answered": f"approved by {approved.by} (draft {approved.drafts})",
        },
        {
            "asked": f"Member States ({circulated.recipients})",
            "answered": f"{circulated.sent} sent, {circulated.failed} failed",
        },
        {"asked": "Officers (where it was used)", "answered": "recorded" if used else "not yet"},
    ]
    if not used:
        run.publish(80, rows, "Circulated; waiting for a record of where it was used")
        return "awaiting_usage"
    return run.done("its use is recorded", rows, "Circulated and used")
