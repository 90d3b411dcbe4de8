"""The Member State portal: a signed link, its own state only, in its language; bad links and
bad files refused with a clear page and nothing stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from operative.core import clock, tokens
from operative.models import (
    Event,
    Obligation,
    ObligationStatus,
    Paragraph,
    Resolution,
    Submission,
)
from operative.playbooks import national_positions as positions
from operative.web.auth import portal_csrf
from tests.factories import portal_token, sign_in, stored_files
from tests.web.conftest import Register

CAMPAIGN = 4


def _submission(register: Register, iso3: str) -> Submission:
    rows = register.all(
        select(Submission).where(
            Submission.obligation_id == CAMPAIGN, Submission.member_state_iso3 == iso3
        )
    )
    assert len(rows) == 1
    return rows[0]


def _post(client: TestClient, token: str, **kwargs: object) -> object:
    data = {"csrf_token": portal_csrf(token), **kwargs.pop("data", {})}  # type: ignore[dict-item]
    return client.post(f"/portal/{token}", data=data, **kwargs)  # type: ignore[arg-type]


def test_portal_opens_in_the_states_working_language(client: TestClient) -> None:
    """A mission reads the page in its working language without choosing it."""
    french = client.get(f"/portal/{portal_token(CAMPAIGN, 'SEN')}")
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    assert "Position nationale : Sénégal" in french.text
    spanish = client.get(f"/portal/{portal_token(CAMPAIGN, 'ARG')}")
    assert "Posición nacional: Argentina" in spanish.text
    english = client.get(f"/portal/{portal_token(CAMPAIGN, 'SEN')}?lang=en")
    assert "National position of Senegal" in english.text


def test_portal_submission_records_the_position_of_the_links_state_only(
    client: TestClient, register: Register
) -> None:
    """The link names the state: nothing in the form can make it speak for another."""
    token = portal_token(CAMPAIGN, "ARG")
    before = _submission(register, "BRA")
    response = _post(
        client,
        token,
        data={"position_text": "Argentina supports the Dialogue.", "member_state": "BRA"},
        files={"position_file": ("position.txt", b"Full text of the position.", "text/plain")},
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == f"/portal/{token}?sent=1"  # type: ignore[attr-defined]
    row = _submission(register, "ARG")
    assert row.received_at is not None and row.text == "Argentina supports the Dialogue."
    assert row.attachment_name == "position.txt"
    assert _submission(register, "BRA") == before
    page = client.get(f"/portal/{token}?sent=1")
    assert 'id="portal-sent"' in page.text and "position.txt" in page.text
    events = register.all(select(Event).where(Event.kind == "submission.received"))
    assert json.loads(events[-1].payload)["state"] == "ARG"


def test_tampered_link_is_refused_in_three_languages_and_changes_nothing(
    client: TestClient, register: Register
) -> None:
    """A link altered by a character proves nothing; we cannot tell whose it was."""
    token = portal_token(CAMPAIGN, "ARG")
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    page = client.get(f"/portal/{tampered}")
    assert page.status_code == 403
    for language in ("en", "fr", "es"):
        assert f'data-testid="portal-refusal-{language}"' in page.text
    assert "This link is not valid" in page.text and "Ce lien n’est pas valide" in page.text
    before = register.count(Event)
    refused = _post(client, tampered, data={"position_text": "Forged."})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert register.count(Event) == before
    assert _submission(register, "ARG").received_at is None


def test_link_rewritten_for_another_state_is_refused(
    client: TestClient, register: Register
) -> None:
    """Changing the state inside a valid link breaks its signature."""
    payload, _, signature = portal_token(CAMPAIGN, "ARG").partition(".")
    claims = json.loads(tokens._unb64(payload))
    claims["s"] = "BRA"
    forged = tokens._b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    response = _post(client, f"{forged}.{signature}", data={"position_text": "Not Brazil's."})
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert _submission(register, "BRA").received_at is None


def test_expired_link_answers_410_in_the_states_language(
    client: TestClient, register: Register
) -> None:
    """A genuine but stale link gets a page the mission can read, telling it to ask anew."""
    token = positions.portal_token(CAMPAIGN, "SEN", expires_at=clock.now() - dt.timedelta(days=1))
    page = client.get(f"/portal/{token}")
    assert page.status_code == 410
    assert "Ce lien a expiré" in page.text and "This link has expired" not in page.text
    response = _post(client, token, data={"position_text": "Late."})
    assert response.status_code == 410  # type: ignore[attr-defined]
    assert _submission(register, "SEN").received_at is None


def test_oversized_upload_is_refused_with_413_and_nothing_stored(
    client: TestClient, register: Register, data_dir: Path
) -> None:
    """A file over the limit must not fill the disk or count as a position."""
    token = portal_token(CAMPAIGN, "ARG")
    big = b"x" * (positions.MAX_ATTACHMENT_BYTES + 1)
    response = _post(
        client, token, files={"position_file": ("position.pdf", big, "application/pdf")}
    )
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert 'data-error="too_large"' in response.text  # type: ignore[attr-defined]
    assert _submission(register, "ARG").received_at is None
    assert stored_files(data_dir) == [] if (data_dir / "submissions").exists() else True


def test_upload_far_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    """A declared body far over the limit is answered from its headers alone."""
    token = portal_token(CAMPAIGN, "ARG")
    huge = b"x" * (positions.MAX_ATTACHMENT_BYTES + 400 * 1024)
    response = _post(
        client, token, files={"position_file": ("position.pdf", huge, "application/pdf")}
    )
    assert response.status_code == 413  # type: ignore[attr-defined]


def test_wrong_file_type_is_refused_with_415_and_nothing_stored(
    client: TestClient, register: Register, data_dir: Path
) -> None:
    """Only documents the secretariat can open are accepted; the page names the types."""
    token = portal_token(CAMPAIGN, "SEN")
    response = _post(
        client,
        token,
        files={"position_file": ("position.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert response.status_code == 415  # type: ignore[attr-defined]
    assert "Ce type de fichier n’est pas accepté" in response.text  # type: ignore[attr-defined]
    assert ".pdf" in response.text  # type: ignore[attr-defined]
    assert _submission(register, "SEN").received_at is None
    assert not (data_dir / "submissions").exists() or stored_files(data_dir) == []


def test_empty_submission_is_refused_with_422(client: TestClient, register: Register) -> None:
    """A form sent with neither text nor file records nothing and says what is missing."""
    response = _post(client, portal_token(CAMPAIGN, "ARG"), data={"position_text": "  "})
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert _submission(register, "ARG").received_at is None


def test_portal_form_without_its_token_is_refused(client: TestClient, register: Register) -> None:
    """The portal form carries its own CSRF value, bound to the link."""
    token = portal_token(CAMPAIGN, "ARG")
    response = client.post(f"/portal/{token}", data={"position_text": "No token."})
    assert response.status_code == 403
    assert _submission(register, "ARG").received_at is None


def test_closed_campaign_refuses_submissions_with_409(
    client: TestClient, register: Register
) -> None:
    """Once the campaign is done, a late link shows it closed and records nothing."""
    register.update(Obligation, CAMPAIGN, status=ObligationStatus.done)
    token = portal_token(CAMPAIGN, "ARG")
    page = client.get(f"/portal/{token}")
    assert 'id="portal-form"' not in page.text and 'id="portal-closed"' in page.text
    response = _post(client, token, data={"position_text": "Too late."})
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert _submission(register, "ARG").received_at is None


def test_officer_downloads_the_file_a_mission_sent(client: TestClient) -> None:
    """What the portal stored is what the secretariat reads."""
    token = portal_token(CAMPAIGN, "ARG")
    _post(
        client,
        token,
        files={"position_file": ("posición.txt", "Texto íntegro.".encode(), "text/plain")},
    )
    sign_in(client, "officer")
    response = client.get(f"/positions/{CAMPAIGN}/ARG/file")
    assert response.status_code == 200
    assert response.content == "Texto íntegro.".encode()


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_portal_page_has_no_untranslated_marker_in_each_language(
    client: TestClient, language: str
) -> None:
    """Every string of the form is in the catalogs: no English left in a French page."""
    page = client.get(f"/portal/{portal_token(CAMPAIGN, 'ARG')}?lang={language}")
    labels = {
        "en": "Submit the national position",
        "fr": "Soumettre la position nationale",
        "es": "Enviar la posición nacional",
    }
    assert labels[language] in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "IOM Council Resolution No. 1244"),
        ("fr", "Conseil de l’OIM, résolution n° 1244"),
        ("es", "Consejo de la OIM, resolución n.º 1244"),
    ],
)
def test_portal_names_the_resolutions_body_in_the_page_language(
    client: TestClient, language: str, heading: str
) -> None:
    """A French page read "Résolution n° 1244 du IOM Council": the body's name stays in the
    page's language, in a phrasing that needs no article."""
    page = client.get(f"/portal/{portal_token(CAMPAIGN, 'ARG')}?lang={language}")
    assert page.status_code == 200
    assert f"{heading}:" in page.text
    assert "du IOM Council" not in page.text and "del IOM Council" not in page.text


def test_portal_keeps_a_body_the_catalogs_do_not_know_as_written(
    client: TestClient, register: Register
) -> None:
    """A body with no translation is shown as written, in a phrasing that stays grammatical."""
    paragraph = register.get(Paragraph, register.get(Obligation, CAMPAIGN).paragraph_id)
    register.update(Resolution, paragraph.resolution_id, body="Test Council")
    page = client.get(f"/portal/{portal_token(CAMPAIGN, 'SEN')}")
    assert "Test Council, résolution n° 1244:" in page.text
