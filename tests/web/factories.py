"""Plain functions that build what the web tests need: a registered 1244 with people, pending
approvals, a campaign with a few positions, and deliveries sent and failed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from operative.models import Delivery, DeliveryStatus, Message, Obligation, utcnow
from operative.playbooks import national_positions as positions
from operative.register import approvals, bootstrap, users
from operative.register.ingest import ingest, sidecar_dates
from operative.resolution import parse_file
from operative.web.auth import SESSION_COOKIE, new_session
from tests.conftest import SEED

PASSWORD = "correct horse battery"
# One user per role; ``drafter`` drafts what the others decide (four-eyes).
PEOPLE = {
    "viewer": ["viewer"],
    "officer": ["officer"],
    "approver": ["approver"],
    "chair": ["chair"],
    "admin": ["admin"],
    "dg.office": ["director_general"],
    "drafter": ["officer"],
}
ROLE_USERS = {
    "viewer": "viewer",
    "officer": "officer",
    "approver": "approver",
    "chair": "chair",
    "admin": "admin",
}


def playbook_ids(session: Session) -> dict[str, int]:
    return {o.playbook: o.id or 0 for o in session.exec(select(Obligation))}


def seed_register(session: Session) -> None:
    """Resolution 1244, the Member States, the people, and some work in every state."""
    bootstrap.init(session)
    ingest(
        session,
        parse_file(SEED),
        source_name=SEED.name,
        source_text=SEED.read_text(encoding="utf-8"),
        dates=sidecar_dates(SEED),
        actor="drafter",
    )
    for username, roles in PEOPLE.items():
        users.add_user(
            session,
            username,
            name=username.title(),
            roles=roles,
            password=PASSWORD if username == "officer" else None,
        )
    ids = playbook_ids(session)
    # approval 1: the transmittal letter, for the Chairperson; 2: a briefing, for the DG's
    # office; 3: the statement, for an approver; 4: one the chair drafted and must not decide.
    approvals.request(
        session,
        obligation_id=ids["forward_to_pga"],
        step="transmittal",
        role="chair",
        drafted_by="drafter",
    )
    approvals.request(
        session,
        obligation_id=ids["inform_member_states"],
        step="briefing",
        role="director_general",
        drafted_by="drafter",
    )
    approvals.request(
        session,
        obligation_id=ids["lead_agency_statement"],
        step="statement",
        role="approver",
        drafted_by="drafter",
    )
    approvals.request(
        session,
        obligation_id=ids["forward_to_pga"],
        step="transmittal",
        role="chair",
        drafted_by="chair",
        cycle=1,
    )
    campaign = ids["national_positions"]
    positions.invite_all(session, campaign)
    positions.submit(
        session, campaign, "CHE", text="Switzerland supports the Dialogue.", actor="portal:CHE"
    )
    positions.submit(
        session, campaign, "FRA", text="La France soutient le Dialogue.", actor="portal:FRA"
    )
    positions.review(session, campaign, "FRA", verdict="reflects", reviewer="officer")
    now = utcnow()
    message = Message(
        key="test:escalation:1",
        kind="escalation",
        obligation_id=ids["inform_member_states"],
        created_at=now,
    )
    session.add(message)
    session.flush()
    for number, (status, recipient) in enumerate(
        ((DeliveryStatus.failed, "secretariat"), (DeliveryStatus.sent, "chair")), start=1
    ):
        session.add(
            Delivery(
                message_id=message.id or 0,
                recipient=recipient,
                channel="inbox",
                idempotency_key=f"test-delivery-{number}",
                title="Undelivered notice",
                body="A notice could not be delivered.",
                status=status,
                attempts=5 if status == DeliveryStatus.failed else 1,
                failures=5 if status == DeliveryStatus.failed else 0,
                last_error="HTTP 500 from the sink" if status == DeliveryStatus.failed else None,
                sent_at=now if status == DeliveryStatus.sent else None,
                created_at=now,
            )
        )
    session.commit()


def sign_in(client: TestClient, username: str) -> str:
    """Give the client a session of ``username`` (as the sign-in form would); its CSRF value."""
    token, csrf = new_session(username)
    # The domain the client's cookie jar files TestClient's host under, so that the
    # server's own Set-Cookie (sign-out) replaces this cookie as a browser's would.
    client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    return csrf


def portal_token(obligation_id: int, iso3: str, *, days: int = 30) -> str:
    return positions.portal_token(
        obligation_id, iso3, expires_at=utcnow() + dt.timedelta(days=days)
    )


def stored_files(data_dir: Path) -> list[Path]:
    """Files the portal stored under the data dir."""
    return sorted(p for p in (data_dir / "submissions").rglob("*") if p.is_file())
