"""Who may not decide: a viewer sees no decision button and a forged request is refused; the
person who drafted a document may not approve it, however the form is reached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from operative.models import Approval
from tests.browser.conftest import Site, fetch, sign_in
from tests.factories import pending_letter

Shoot = Callable[[Page, str], Path]


def test_viewer_sees_no_decision_buttons_and_a_forged_decision_is_refused(
    site: Site, page: Page, db: Session, shoot: Shoot
) -> None:
    """Viewers watch; they must not be able to approve, not even by posting the form with
    their own valid session and CSRF token."""
    pending = pending_letter(db, drafted_by="olga")

    sign_in(page, "victor", at="/approvals")
    item = page.locator(f"#approval-{pending.approval_id}")
    expect(item).to_contain_text("Viewers cannot decide.")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)
    shoot(page, "viewer-inbox")

    page.goto(f"/obligations/{pending.obligation_id}")
    expect(page.locator(f"#approval-{pending.approval_id}")).to_contain_text("pending")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#obligation-actions")).to_have_count(0)
    shoot(page, "viewer-obligation")

    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    answer = page.request.post(
        f"/approvals/{pending.approval_id}/decide",
        form={"decision": "approve", "reason": "", "csrf_token": csrf},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "viewers cannot change anything" in answer.text()
    assert fetch(select(Approval).where(Approval.id == pending.approval_id)).decision is None


def test_the_drafter_cannot_approve_their_own_draft(
    site: Site, page: Page, db: Session, shoot: Shoot
) -> None:
    """Four-eyes: Carl holds the Chairperson's role, but he drafted this letter, so the
    button he sees refuses him and the approval stays pending for someone else."""
    pending = pending_letter(db, drafted_by="carl", title="Transmittal letter (Carl's draft)")

    sign_in(page, "carl", at="/approvals")
    page.locator(f"#approval-{pending.approval_id}").get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_test_id("error-message")).to_contain_text("a second person must decide")
    shoot(page, "drafter-refused")

    page.goto("/approvals")
    expect(page.locator(f"#approval-{pending.approval_id}")).to_have_attribute(
        "data-decision", "pending"
    )
    assert fetch(select(Approval).where(Approval.id == pending.approval_id)).decision is None
