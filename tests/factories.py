"""Plain functions that put into the register what the tests need, through the core.

One way to seed resolution 1244 (``register_1244``, with the people who work on it), the work
the flows and the portal leave behind (a pending approval, an open campaign, positions,
deliveries), the Member States alone for the notification tests with a channel file and an
enqueued invitation, and a web client signed in as someone; and the few looks at the register
that several test modules share (deliveries of a kind, rows per table).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from operative.core import clock
from operative.core.db import dispose_engines, get_engine
from operative.core.settings import get_settings
from operative.models import Delivery, DeliveryStatus, Message, Obligation, ObligationStatus
from operative.notify.outbox import EnqueueResult, enqueue
from operative.notify.recipients import member_state_recipients
from operative.playbooks import national_positions as positions
from operative.register import approvals, bootstrap, documents, obligations, users
from operative.register.ingest import ingest_file
from operative.web.auth import SESSION_COOKIE, new_session
from tests.conftest import SEED

# --- resolution 1244 and its people ---------------------------------------------------------

PASSWORD = "correct horse battery"
# One user per role, and a second officer and chair: four-eyes checks need someone else.
FLOW_PEOPLE = {
    "officer": ["officer"],
    "officer2": ["officer"],
    "chair": ["chair"],
    "chair2": ["chair"],
    "dg": ["director_general"],
    "viewer": ["viewer"],
}
# The web tests' people: one per role, and ``drafter``, who drafts what the others decide.
PEOPLE = {
    "viewer": ["viewer"],
    "officer": ["officer"],
    "approver": ["approver"],
    "chair": ["chair"],
    "admin": ["admin"],
    "dg.office": ["director_general"],
    "drafter": ["officer"],
}
ROLE_USERS = {role: role for role in ("viewer", "officer", "approver", "chair", "admin")}


def register_1244(
    session: Session, *, people: Mapping[str, Sequence[str]] | None = None, actor: str = "cli"
) -> dict[str, int]:
    """A fresh register as ``operative init`` and ``operative ingest`` make it: the Member
    States, resolution 1244 with its HLD dates, and ``people`` (username: roles); the id of
    each of 1244's obligations by playbook."""
    bootstrap.init(session)
    ingest_file(session, SEED, actor=actor)
    add_people(session, people or {})
    session.flush()
    return playbook_ids(session)


def add_people(
    session: Session,
    people: Mapping[str, Sequence[str]],
    *,
    names: Mapping[str, str] | None = None,
    passwords: Mapping[str, str] | None = None,
) -> None:
    """Users with these roles, named ``names[username]`` (else the username, capitalised), who
    sign in with ``passwords[username]`` (else not at all)."""
    for username, roles in people.items():
        users.add_user(
            session,
            username,
            name=(names or {}).get(username, username.title()),
            roles=list(roles),
            password=(passwords or {}).get(username),
        )


def seeded_data_dir(folder: Path, seed: Callable[[Session], object]) -> Path:
    """``folder`` made a data dir whose SQLite database ``seed`` filled, then closed, so that
    tests can copy the file (copying takes milliseconds; migrating and seeding, seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPERATIVE_DATA_DIR", str(folder))
        patch.delenv("OPERATIVE_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        dispose_engines()
        with Session(get_engine()) as session:
            seed(session)
            session.commit()
        dispose_engines()  # closes the last connection: SQLite folds the WAL into the file
    get_settings.cache_clear()
    return folder


def playbook_ids(session: Session) -> dict[str, int]:
    """The id of each obligation by the playbook it follows."""
    return {o.playbook: o.id or 0 for o in session.exec(select(Obligation))}


def obligation_of(session: Session, playbook: str) -> Obligation:
    """The one obligation following ``playbook``, as committed now."""
    found = session.exec(select(Obligation).where(Obligation.playbook == playbook)).one()
    session.refresh(found)
    return found


def refusal(load: Callable[[Path], object], error: type[Exception], path: Path, text: str) -> str:
    """The message ``load`` raises ``error`` with, given the config file ``path`` holding
    ``text``."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as caught:
        load(path)
    return str(caught.value)


# --- work in progress -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    obligation_id: int
    approval_id: int
    title: str


def pending_approval(
    session: Session,
    playbook: str,
    *,
    step: str,
    role: str,
    drafted_by: str,
    title: str,
    body: str,
    kind: str = "draft",
) -> Pending:
    """A draft waiting for ``role``: the obligation started, a document drafted, the approval
    asked and the obligation awaiting it — what a flow's approval gate leaves behind."""
    obligation = obligation_of(session, playbook)
    assert obligation.id is not None
    actor = f"flow:{step}"
    if obligation.status == ObligationStatus.planned:
        obligations.transition(session, obligation, ObligationStatus.in_progress, actor=actor)
    document = documents.draft(
        session,
        obligation_id=obligation.id,
        kind=kind,
        cycle=0,
        version=1,
        title=title,
        body=body,
        drafted_by=drafted_by,
    )
    approval = approvals.request(
        session,
        obligation_id=obligation.id,
        step=step,
        role=role,
        drafted_by=drafted_by,
        document_id=document.id,
    )
    if obligation.status != ObligationStatus.awaiting_approval:
        obligations.transition(session, obligation, ObligationStatus.awaiting_approval, actor=actor)
    session.commit()
    assert approval.id is not None
    return Pending(obligation.id, approval.id, title)


LETTER_TITLE = "Transmittal letter to the President of the General Assembly"


def pending_letter(
    session: Session,
    *,
    drafted_by: str,
    body: str = "Madam President, I have the honour to transmit Resolution No. 1244 (CI).",
    title: str = LETTER_TITLE,
) -> Pending:
    """OP5's transmittal letter to the PGA, drafted and waiting for the Chairperson."""
    return pending_approval(
        session,
        "forward_to_pga",
        step="transmittal-letter",
        role="chair",
        drafted_by=drafted_by,
        title=title,
        body=body,
        kind="transmittal_letter",
    )


def open_campaign(session: Session) -> int:
    """The national-positions obligation started, every active Member State invited."""
    obligation = obligation_of(session, "national_positions")
    assert obligation.id is not None
    obligations.transition(
        session, obligation, ObligationStatus.in_progress, actor="flow:invite-member-states"
    )
    positions.invite_all(session, obligation.id)
    session.commit()
    return obligation.id


def register_1244_with_work(session: Session) -> None:
    """1244, the web tests' people, and some work in every state: four approvals waiting, a
    campaign with a position received and one reviewed, a delivery failed and one sent."""
    ids = register_1244(session, actor="drafter")
    add_people(session, PEOPLE, passwords={"officer": PASSWORD})
    # approval 1: the transmittal letter, for the Chairperson; 2: a briefing, for the DG's
    # office; 3: the statement, for an approver; 4: one the chair drafted and must not decide.
    for playbook, step, role, drafted_by, cycle in (
        ("forward_to_pga", "transmittal", "chair", "drafter", 0),
        ("inform_member_states", "briefing", "director_general", "drafter", 0),
        ("lead_agency_statement", "statement", "approver", "drafter", 0),
        ("forward_to_pga", "transmittal", "chair", "chair", 1),
    ):
        approvals.request(
            session,
            obligation_id=ids[playbook],
            step=step,
            role=role,
            drafted_by=drafted_by,
            cycle=cycle,
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
    undelivered_notices(session, ids["inform_member_states"])
    session.commit()


def undelivered_notices(session: Session, obligation_id: int) -> None:
    """An escalation about ``obligation_id`` whose delivery failed five times to the
    secretariat's inbox and was sent once to the chair's."""
    now = clock.now()
    message = Message(
        key="test:escalation:1", kind="escalation", obligation_id=obligation_id, created_at=now
    )
    session.add(message)
    session.flush()
    for number, (status, recipient) in enumerate(
        ((DeliveryStatus.failed, "secretariat"), (DeliveryStatus.sent, "chair")), start=1
    ):
        failed = status == DeliveryStatus.failed
        session.add(
            Delivery(
                message_id=message.id or 0,
                recipient=recipient,
                channel="inbox",
                idempotency_key=f"test-delivery-{number}",
                title="Undelivered notice",
                body="A notice could not be delivered.",
                status=status,
                attempts=5 if failed else 1,
                failures=5 if failed else 0,
                last_error="HTTP 500 from the sink" if failed else None,
                sent_at=None if failed else now,
                created_at=now,
            )
        )


# --- notices --------------------------------------------------------------------------------

RESOLUTION = {"number": "1244 (CI)", "title": "IOM and the United Nations High-level Dialogue"}
INVITATION_KEY = "obligation:4:invitation:cycle:0"


def load_states(url: str) -> None:
    """The 175 Member States of the shipped CSV, and nothing else, in the database at ``url``."""
    with Session(get_engine(url)) as session:
        bootstrap.load_member_states(session, get_settings().config_dir / "member_states.csv")
        session.commit()


def all_states_tags() -> str:
    """Every Member State's code, as one Apprise tag list."""
    with (get_settings().config_dir / "member_states.csv").open(encoding="utf-8") as handle:
        return ", ".join(row["iso3"] for row in csv.DictReader(handle))


def channel_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch, channels: Mapping[str, str]
) -> Path:
    """``folder/apprise.yml``, made the one operative reads (OPERATIVE_APPRISE_CONFIG): an
    Apprise YAML entry for each URL of ``channels``, tagged with its value."""
    entries = "".join(f"  - {url}:\n      tag: {tags}\n" for url, tags in channels.items())
    path = folder / "apprise.yml"
    path.write_text(f"version: 1\nurls:\n{entries}", encoding="utf-8")
    monkeypatch.setenv("OPERATIVE_APPRISE_CONFIG", str(path))
    return path


def invitation_context(**overrides: Any) -> dict[str, Any]:
    """What an invitation to share national positions needs."""
    return {
        "resolution": RESOLUTION,
        "paragraph": "4",
        "deadline": dt.datetime(2013, 8, 9, 16, 0, tzinfo=dt.UTC),
        "link": "https://operative.example.org/positions/token",
        **overrides,
    }


def enqueue_invitation(
    url: str,
    codes: Sequence[str] | None = None,
    *,
    key: str = INVITATION_KEY,
    attachments: Sequence[Path] = (),
) -> EnqueueResult:
    """An invitation for the Member States ``codes`` (all of them if None), in the outbox."""
    with Session(get_engine(url)) as session:
        result = enqueue(
            session,
            key=key,
            kind="invitation",
            recipients=member_state_recipients(session, codes),
            context=invitation_context(),
            attachments=attachments,
        )
        session.commit()
    return result


def deliveries_of(kind: str, url: str | None = None) -> list[Delivery]:
    """The deliveries of every message of ``kind``, by recipient, in the database at ``url``
    (else the configured one)."""
    with Session(get_engine(url)) as session:
        return list(
            session.exec(
                select(Delivery)
                .join(Message, col(Delivery.message_id) == Message.id)
                .where(Message.kind == kind)
                .order_by(col(Delivery.recipient), col(Delivery.id))
            )
        )


def row_counts(url: str) -> dict[str, int]:
    """Rows per table: what an aborted command must leave exactly as it found it."""
    engine = get_engine(url)
    with engine.connect() as connection:
        return {
            table: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar_one()
            for table in sa.inspect(engine).get_table_names()
        }


# --- the web --------------------------------------------------------------------------------


def sign_in(client: TestClient, username: str) -> str:
    """Give the client a session of ``username`` (as the sign-in form would); its CSRF value."""
    token, csrf = new_session(username)
    # The domain the client's cookie jar files TestClient's host under, so that the
    # server's own Set-Cookie (sign-out) replaces this cookie as a browser's would.
    client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    return csrf


def portal_token(obligation_id: int, iso3: str, *, days: int = 30) -> str:
    """A portal link's token for ``iso3``, valid for ``days``."""
    return positions.portal_token(
        obligation_id, iso3, expires_at=clock.now() + dt.timedelta(days=days)
    )


def stored_files(data_dir: Path) -> list[Path]:
    """Files the portal stored under the data dir."""
    return sorted(p for p in (data_dir / "submissions").rglob("*") if p.is_file())
