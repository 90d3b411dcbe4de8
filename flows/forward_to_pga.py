"""OP5 of 1244: the Chairperson forwards the resolution to the President of the General Assembly.

Draft the transmittal letter; the Chairperson (a user with role chair who did not draft it)
approves it, or rejects it with a reason and a corrected draft goes back; send it to the PGA's
office with the resolution attached; record the acknowledgement; done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow

from flows._prefect.common import (
    HOLDS_LEASE,
    current_run_id,
    message_context,
    publish,
    until_approved,
)
from operative.notify.recipients import NEW_YORK
from operative.notify.templates import default_renderer
from tasks.activities import document_text
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result
from tasks.store_records import attachment_of_resolution, has_record, latest_record_text

PLAYBOOK = "forward_to_pga"


def _letter(
    obligation_id: int, info: dict[str, Any], version: int, reason: str | None
) -> tuple[str, str]:
    """The letter's subject and body: from the template, or an officer's revised text."""
    resolution = info["resolution"]
    rendered = default_renderer().render(
        "transmittal",
        language="en",
        timezone=NEW_YORK,
        context={
            "resolution": {
                **resolution,
                "adopted_on": dt.date.fromisoformat(resolution["adopted_on"]),
            },
            "paragraph": info["paragraph"],
            "enclosures": 1,
            "recipient": {"name": "Office of the President of the General Assembly"},
        },
    )
    if version > 1:
        # After a rejection, the officer's revised text (`operative records add ID revision`).
        revised = latest_record_text(obligation_id, "revision")
        if revised:
            return rendered.subject, revised
    body = rendered.body
    if reason:
        body += f"\n\n[Draft {version}, no revised text recorded; the comment was: {reason}]"
    return rendered.subject, body


@flow(name="forward_to_pga", log_prints=False, **HOLDS_LEASE)
def forward_to_pga(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Transmit the resolution to the President of the General Assembly, with approval."""
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["stop"]:
        return str(info["stop"])
    context = message_context(info)

    approved = until_approved(
        obligation_id,
        kind="transmittal_letter",
        step="transmittal-letter",
        approved_step="letter-approved",
        role="chair",
        drafted_by=drafted_by,
        context=context,
        draft=lambda version, reason: _letter(obligation_id, info, version, reason),
        progress=50,
    )
    if approved is None:
        return "awaiting_approval"

    sent = step_result(obligation_id, "sent")
    if sent is None:
        # Exactly the letter the Chairperson approved, not a fresh rendering.
        letter = document_text(obligation_id, "transmittal_letter", approved["document"])
        outcome = send_message(
            f"obligation:{obligation_id}:transmittal",
            "transmittal",
            obligation_id,
            {**context, "enclosures": 1, "letter": letter["body"]},
            roles=["pga_office"],
            attachments=[attachment_of_resolution(info["resolution"]["id"])],
        )
        sent = finish_step(obligation_id, "sent", result=outcome, progress=80)

    acknowledged = has_record(obligation_id, "acknowledgement")
    rows = [
        {"asked": "Chairperson (approval)", "answered": "approved"},
        {"asked": "Office of the PGA", "answered": "acknowledged" if acknowledged else "not yet"},
    ]
    if not acknowledged:
        publish(obligation_id, 80, rows, "Sent; waiting for the PGA's acknowledgement")
        return "awaiting_acknowledgement"
    set_status(obligation_id, "done", actor=f"flow:{PLAYBOOK}", note="acknowledged by the PGA")
    publish(obligation_id, 100, rows, "Transmitted and acknowledged")
    return "done"
