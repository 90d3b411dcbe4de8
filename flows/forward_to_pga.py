"""OP5 of 1244: the Chairperson forwards the resolution to the President of the General Assembly.

Draft the transmittal letter; the Chairperson (a user with role chair who did not draft it)
approves it, or rejects it with a reason and a corrected draft goes back; send it to the PGA's
office with the resolution attached; record the acknowledgement; done.
"""

from __future__ import annotations

from flows._prefect.playbook import Run, playbook
from operative.playbooks import forward_to_pga as rules
from operative.playbooks.statements import Text
from tasks.activities import document_text
from tasks.notify import send_message
from tasks.store import finish_step, step_done
from tasks.store_records import attachment_of_resolution, has_record, latest_record_text


def _draft(run: Run, version: int, reason: str | None) -> Text:
    """A version of the letter; after a rejection, the officer's revised text if recorded."""
    revised = latest_record_text(run.obligation_id, "revision") if version > 1 else None
    return rules.letter(run.brief, version=version, reason=reason, revised=revised)


@playbook("forward_to_pga")
def forward_to_pga(run: Run) -> str:
    """Transmit the resolution to the President of the General Assembly, with approval."""
    approved = run.approved(
        kind="transmittal_letter",
        step="transmittal-letter",
        approved_step="letter-approved",
        role="chair",
        draft=lambda version, reason: _draft(run, version, reason),
        progress=50,
    )
    if approved is None:
        return "awaiting_approval"

    ob = run.obligation_id
    if not step_done(ob, "sent"):
        # Exactly the letter the Chairperson approved, not a fresh rendering.
        letter = document_text(ob, "transmittal_letter", approved.document)
        outcome = send_message(
            f"obligation:{ob}:transmittal",
            "transmittal",
            ob,
            {**run.context, "enclosures": rules.ENCLOSURES, "letter": letter.body},
            roles=["pga_office"],
            attachments=[attachment_of_resolution(run.brief.resolution.id)],
        )
        finish_step(ob, "sent", result=outcome, progress=80)

    acknowledged = has_record(ob, "acknowledgement")
    rows = [
        {"asked": "Chairperson (approval)", "answered": "approved"},
        {"asked": "Office of the PGA", "answered": "acknowledged" if acknowledged else "not yet"},
    ]
    if not acknowledged:
        run.publish(80, rows, "Sent; waiting for the PGA's acknowledgement")
        return "awaiting_acknowledgement"
    return run.done("acknowledged by the PGA", rows, "Transmitted and acknowledged")
