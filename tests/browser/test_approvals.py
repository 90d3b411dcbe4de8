"""Deciding approvals in a real browser: the inbox, the decision forms, and the pages that
show the obligation move afterwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from operative.models import Approval, ObligationStatus
from operative.register import obligations
from tests.browser.conftest import Site, fetch, sign_in
from tests.factories import obligation_of, pending_approval, pending_letter

Shoot = Callable[[Page, str], Path]

LETTER = (
    "Madam President,\n\nI have the honour to transmit Resolution No. 1244 (CI), adopted by the "
    "Council of the International Organization for Migration at its 523rd meeting on "
    "27 November 2012, as an input to the High-level Dialogue of 3 and 4 October 2013."
)


def test_approver_approves_in_the_inbox_and_the_obligation_moves(
    site: Site, page: Page, db: Session, shoot: Shoot
) -> None:
    """The Chairperson's day: sign in, open the inbox, read the letter, approve; the overview
    and the obligation page must then show the decision and the work going on."""
    pending = pending_letter(db, drafted_by="olga", body=LETTER)
    row = f"#obligation-{pending.obligation_id}"

    sign_in(page, "claire", at="/")
    expect(page.locator(row)).to_have_attribute("data-status", "awaiting_approval")
    expect(page.locator(row).get_by_test_id("next-action")).to_contain_text(
        f"Decision by chair (transmittal-letter, approval {pending.approval_id})"
    )
    shoot(page, "overview-awaiting-approval")

    page.get_by_role("link", name="Approvals").click()
    item = page.locator(f"#approval-{pending.approval_id}")
    expect(item).to_have_attribute("data-decision", "pending")
    expect(item).to_contain_text("drafted by olga")
    expect(item.locator("pre.document")).to_contain_text("523rd meeting")
    shoot(page, "inbox")

    item.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("flash")).to_contain_text(
        f"Approval {pending.approval_id} approved by claire"
    )
    expect(page.get_by_test_id("no-approvals")).to_be_visible()
    shoot(page, "inbox-after-approval")

    page.goto(f"/obligations/{pending.obligation_id}")
    decided = page.locator(f"#approval-{pending.approval_id}")
    expect(decided).to_have_attribute("data-decision", "approved")
    expect(decided).to_contain_text("approved by claire")
    expect(page.locator("#obligation-next-action")).to_have_text(
        "Run the flow again: the decision is in the register"
    )
    expect(page.get_by_test_id("timeline-event").first).to_have_attribute(
        "data-kind", "approval.approved"
    )
    shoot(page, "obligation-decided")

    # The flow's next run reads the decision from the register and carries on, as the
    # approval gate does (flows._prefect.common.approval_gate), through the same core transition.
    obligation = obligation_of(db, "forward_to_pga")
    obligations.transition(
        db,
        obligation,
        ObligationStatus.in_progress,
        actor="flow:transmittal-letter",
        note="approval approved",
    )
    db.commit()

    page.reload()
    expect(page.get_by_test_id("obligation-status")).to_have_attribute("data-status", "in_progress")
    expect(page.get_by_test_id("obligation-status")).to_contain_text("in progress")
    page.get_by_role("link", name="Overview").first.click()
    expect(page.locator(row)).to_have_attribute("data-status", "in_progress")
    expect(page.locator(row).get_by_test_id("next-action")).to_have_text(
        "Run the forward_to_pga flow again to carry on"
    )
    shoot(page, "overview-in-progress")

    approval = fetch(select(Approval).where(Approval.id == pending.approval_id))
    assert (approval.decision, approval.decided_by) == ("approved", "claire")


def test_rejection_needs_a_reason_and_is_shown_with_it(
    site: Site, page: Page, db: Session, shoot: Shoot
) -> None:
    """A rejection tells the drafter what to change: without a reason it is refused and
    nothing is recorded; with one, the reason is what the inbox and the obligation show."""
    pending = pending_approval(
        db,
        "lead_agency_statement",
        step="lead-agency-statement",
        role="director_general",
        drafted_by="olga",
        title="IOM's position on its role as lead agency on migration",
        body="IOM, as the leading global agency on migration, contributes to the Dialogue.",
    )
    reason = "Cite the Council's 101st session and the Dialogue's dates (3-4 October 2013)."

    sign_in(page, "dora", at="/approvals")
    item = page.locator(f"#approval-{pending.approval_id}")
    item.get_by_role("button", name="Reject").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("a rejection needs a reason")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("That did not work"))
    shoot(page, "reject-without-reason")
    assert fetch(select(Approval).where(Approval.id == pending.approval_id)).decision is None

    page.goto("/approvals")
    item.get_by_label("Reason (required to reject)").fill(reason)
    item.get_by_role("button", name="Reject").click()
    expect(page.get_by_test_id("flash")).to_contain_text(
        f"Approval {pending.approval_id} rejected by dora"
    )
    page.goto("/approvals?state=decided")
    decided = page.locator(f"#approval-{pending.approval_id}")
    expect(decided).to_have_attribute("data-decision", "rejected")
    expect(decided).to_contain_text("rejected by dora")
    expect(decided).to_contain_text(reason)
    shoot(page, "decided-rejected")

    page.goto(f"/obligations/{pending.obligation_id}")
    expect(page.locator(f"#approval-{pending.approval_id}")).to_contain_text(reason)
    expect(page.get_by_test_id("obligation-status")).to_have_attribute(
        "data-status", "awaiting_approval"
    )
    shoot(page, "obligation-rejected")
    approval = fetch(select(Approval).where(Approval.id == pending.approval_id))
    assert (approval.decision, approval.decided_by, approval.reason) == ("rejected", "dora", reason)
