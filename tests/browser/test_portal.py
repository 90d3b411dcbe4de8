"""A Member State's mission submits its national position through its own link, in its own
language, and the secretariat sees it arrive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import Session, select

from operative.core.settings import REPO_ROOT
from operative.models import Submission
from tests.browser.conftest import Site, fetch, sign_in
from tests.factories import open_campaign

Shoot = Callable[[Page, str], Path]

POSITION = (
    "La Belgique soutient la tenue du Dialogue de haut niveau sur les migrations internationales "
    "et le développement et salue le rôle de l'OIM."
)
# A minimal PDF: the portal checks type by extension and size, not content.
ATTACHMENT = b"%PDF-1.4\n% Position nationale de la Belgique\n%%EOF\n"


def portal_link(iso3: str) -> str:
    """The link the secretariat would send, printed by ``operative portal-link``."""
    done = subprocess.run(
        [sys.executable, "-m", "operative", "portal-link", iso3],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_member_state_submits_in_french_and_the_secretariat_sees_it(
    site: Site,
    new_context: Callable[..., BrowserContext],
    db: Session,
    shoot: Shoot,
) -> None:
    """Belgium's mission opens its link (no account), reads the page in French, is told a
    wrong file type is refused, then sends text and a PDF; an officer finds Belgium's row
    received, with the file downloadable."""
    campaign = open_campaign(db)
    link = portal_link("BEL")
    assert link.startswith(f"{site.url}/portal/"), link

    mission = new_context().new_page()
    mission.goto(link)
    expect(mission.locator("html")).to_have_attribute("lang", "fr")
    expect(mission.get_by_role("heading", level=1)).to_have_text("Position nationale : Belgique")
    expect(mission.locator("#portal-deadline")).to_contain_text("Veuillez")
    shoot(mission, "portal-fr")

    mission.get_by_label("Texte de la position nationale").fill(POSITION)
    mission.locator("#position-file").set_input_files(
        files=[{"name": "position.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}]
    )
    mission.get_by_role("button", name="Soumettre la position nationale").click()
    expect(mission.get_by_test_id("portal-error")).to_have_attribute("data-error", "file_type")
    expect(mission.get_by_test_id("portal-error")).to_contain_text("Ce type de fichier")
    shoot(mission, "portal-fr-wrong-type")
    belgium = select(Submission).where(
        Submission.obligation_id == campaign, Submission.member_state_iso3 == "BEL"
    )
    assert fetch(belgium).received_at is None

    # The refused form keeps the text typed; only the file is chosen again.
    expect(mission.get_by_label("Texte de la position nationale")).to_have_value(POSITION)
    mission.locator("#position-file").set_input_files(
        files=[
            {"name": "Position Belgique.pdf", "mimeType": "application/pdf", "buffer": ATTACHMENT}
        ]
    )
    mission.get_by_role("button", name="Soumettre la position nationale").click()
    expect(mission.get_by_test_id("portal-sent")).to_contain_text(
        "Votre position nationale a bien été reçue"
    )
    expect(mission.get_by_test_id("portal-current")).to_contain_text("Position_Belgique.pdf")
    shoot(mission, "portal-fr-sent")

    officer = new_context().new_page()
    sign_in(officer, "olga", at="/positions")
    expect(officer.get_by_test_id("count-received")).to_have_text("1")
    officer.get_by_label("State", exact=True).fill("Belgium")
    # htmx swaps the table in place as the filter is typed: one row is left.
    expect(officer.get_by_test_id("positions-shown")).to_have_text(re.compile(r"^1 Member State "))
    row = officer.locator("#state-BEL")
    expect(row).to_have_attribute("data-received", "yes")
    expect(row.get_by_test_id("position-verdict")).to_contain_text("to review")
    shoot(officer, "positions-received")

    with officer.expect_download() as download:
        row.get_by_role("link", name="Position_Belgique.pdf").click()
    saved = download.value.path()
    assert Path(saved).read_bytes() == ATTACHMENT

    received = fetch(belgium)
    assert received.received_at is not None
    assert received.text == POSITION
