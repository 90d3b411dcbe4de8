"""OP5 of 1244: the Chairperson forwards the resolution to the President of the General Assembly.

Draft the transmittal letter; the Chairperson (a user with role chair who did not draft it)
approves it, or rejects it with a reason and a corrected draft goes back; send it to the PGA's
office with the resolution attached; record the acknowledgement; done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from flows.common import approval_gate, current_run_id, message_context, publish
from operative.notify.recipients import NEW_YORK
from operative.notify.templates import default_renderer
from tasks.documents import draft_document
from tasks.notify import send_message
from tasks.store import begin, finish_step, set_status, step_result
from tasks.store_records import attachment_of_resolution, has_record

PLAYBOOK = "forward_to_pga"
MAX_DRAFTS = 5


def _letter(info: dict[str, Any], version: int, reason: str | None) -> tuple[str, str]:
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
    body = rendered.body
    if reason:
        body += f"\n\n[Draft {version}, revised after the Chairperson's comment: {reason}]"
    return rendered.subject, body


@flow(name="forward_to_pga", log_prints=False)
def forward_to_pga(obligation_id: int, drafted_by: str = "secretariat") -> str:
    """Transmit the resolution to the President of the General Assembly, with approval."""
    logger = get_run_logger()
    info = begin(obligation_id, PLAYBOOK, current_run_id())
    if info["status"] in {"done", "cancelled"}:
        return info["status"]
    context = message_context(info)

    approved = step_result(obligation_id, "letter-approved")
    attempt, reason = 1, None
    while approved is None:
        if attempt > MAX_DRAFTS:
            raise RuntimeError(f"obligation {obligation_id}: {MAX_DRAFTS} drafts rejected")
        title, body = _letter(info, attempt, reason)
        document_id = draft_document(
            obligation_id, "transmittal_letter", 0, attempt, title, body, drafted_by, reason
        )
        publish(obligation_id, 10 + 10 * attempt, [], f"Draft {attempt} of the transmittal letter")
        decision = approval_gate(
            obligation_id,
            step="transmittal-letter",
            role="chair",
            drafted_by=drafted_by,
            context=context,
            attempt=attempt,
            document_id=document_id,
        )
        if decision is None:
            return "awaiting_approval"
        if decision["decision"] == "approved":
            approved = finish_step(
                obligation_id,
                "letter-approved",
                result={"document": document_id, "by": decision["decided_by"]},
                progress=50,
            )
        else:
            logger.info("Draft %s rejected: %s", attempt, decision["reason"])
            attempt, reason = attempt + 1, decision["reason"]

    sent = step_result(obligation_id, "sent")
    if sent is None:
        outcome = send_message(
            f"obligation:{obligation_id}:transmittal",
            "transmittal",
            obligation_id,
            {**context, "enclosures": 1},
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
