"""Enqueuing: one delivery per (message, recipient, channel), idempotent, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from operative.core.db import get_engine
from operative.models import Delivery, Event, Message
from operative.notify.channels import UnknownTarget
from operative.notify.outbox import enqueue, idempotency_key
from operative.notify.recipients import Recipient, member_state_recipients, role_recipient
from operative.notify.templates import TemplateError
from tests.factories import (
    all_states_tags,
    channel_file,
    enqueue_invitation,
    invitation_context,
    load_states,
)


@pytest.fixture
def states(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    load_states(db_url)
    tags = all_states_tags()
    channel_file(
        tmp_path,
        monkeypatch,
        {"inbox://": f"{tags}, secretariat, pga_office", "json://127.0.0.1:9/hook": tags},
    )
    return db_url


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_enqueue_makes_one_delivery_per_recipient_and_channel_in_their_language(
    states: str,
) -> None:
    """175 Member States on two channels are 350 deliveries, each in the state's language."""
    result = enqueue_invitation(states, key="obligation:4:invitation:cycle:0")
    assert (result.created, result.added, result.total) == (True, 350, 350)
    with Session(get_engine(states)) as session:
        france = session.exec(select(Delivery).where(Delivery.recipient == "FRA")).all()
        assert {d.channel for d in france} == {"inbox", "json"}
        assert {d.language for d in france} == {"fr"}
        assert all(d.title.startswith("Invitation à faire part") for d in france)
        assert france[0].idempotency_key == idempotency_key(
            "obligation:4:invitation:cycle:0", "FRA", france[0].channel
        )
        mexico = session.exec(select(Delivery).where(Delivery.recipient == "MEX")).first()
        assert (
            mexico is not None
            and mexico.language == "es"
            and "Misión Permanente: México" in mexico.body
        )


def test_enqueuing_the_same_message_again_adds_nothing(states: str) -> None:
    """A flow re-run after a crash must not notify a Member State twice."""
    for _ in range(2):
        result = enqueue_invitation(states, ["FRA", "MEX"], key="k:1")
    assert (result.created, result.added, result.total) == (False, 0, 4)
    with Session(get_engine(states)) as session:
        assert _count(session, Message) == 1
        assert _count(session, Delivery) == 4
        events = session.exec(select(Event).where(Event.kind == "message.enqueued")).all()
        assert len(events) == 1


def test_a_recipient_added_later_gets_only_its_own_deliveries(states: str) -> None:
    """A state joining between two runs is reached; the others are not written to again."""
    enqueue_invitation(states, ["FRA"], key="k:2")
    result = enqueue_invitation(states, ["FRA", "DEU"], key="k:2")
    assert (result.added, result.total) == (2, 4)


def test_the_database_refuses_a_second_delivery_for_the_same_target(states: str) -> None:
    """The unique constraint is the last line of defence against a double enqueue."""
    enqueue_invitation(states, ["FRA"], key="k:3")
    with Session(get_engine(states)) as session:
        original = session.exec(select(Delivery)).first()
        assert original is not None
        copy = Delivery(
            message_id=original.message_id,
            recipient="FRA",
            channel=original.channel,
            idempotency_key="op-different",
            created_at=original.created_at,
        )
        session.add(copy)
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def test_a_template_error_for_one_recipient_writes_nothing_at_all(states: str) -> None:
    """Never a half-sent campaign: one bad context stops the enqueue before any row."""
    with Session(get_engine(states)) as session:
        recipients = member_state_recipients(session, ["FRA", "MEX"])
        broken = Recipient("ARG", "Argentina", "es", context={"link": None})
        context = invitation_context()
        del context["link"]
        with pytest.raises(TemplateError, match="'link' is undefined"):
            enqueue(
                session,
                key="k:4",
                kind="invitation",
                recipients=[*recipients, broken],
                context=context,
            )
        session.rollback()
        assert _count(session, Message) == 0 and _count(session, Delivery) == 0


def test_a_recipient_with_no_channel_is_refused(states: str) -> None:
    """A tag missing from apprise.yml is a configuration error, not a silent skip."""
    with Session(get_engine(states)) as session, pytest.raises(UnknownTarget, match="'XXX'"):
        enqueue(
            session,
            key="k:5",
            kind="invitation",
            recipients=[Recipient("XXX", "Nowhere")],
            context=invitation_context(),
        )


def test_attachments_are_snapshotted_at_enqueue(states: str, tmp_path: Path) -> None:
    """What goes out is what was approved, even if the file changes before the send."""
    source = tmp_path / "resolution-1244.txt"
    source.write_text("Resolution 1244 (CI)", encoding="utf-8")
    with Session(get_engine(states)) as session:
        enqueue(
            session,
            key="k:6",
            kind="transmittal",
            recipients=[role_recipient(session, "pga_office")],
            context={
                "resolution": {"number": "1244 (CI)", "title": "T", "adopted_on": "2012-11-27"},
                "paragraph": "5",
                "enclosures": 1,
            },
            attachments=[source],
        )
        session.commit()
        message = session.exec(select(Message)).one()
    source.write_text("changed afterwards", encoding="utf-8")
    kept = Path(message.attachments[0]["path"])
    assert kept.read_text(encoding="utf-8") == "Resolution 1244 (CI)"
    assert message.attachments[0]["name"] == "resolution-1244.txt"


def test_the_pga_office_is_written_to_in_new_york_time(states: str) -> None:
    """The PGA's office sits in New York; its deadlines must read in its own zone."""
    with Session(get_engine(states)) as session:
        pga = role_recipient(session, "pga_office")
        assert pga.timezone == "America/New_York"
        enqueue(
            session,
            key="k:7",
            kind="approval_request",
            recipients=[pga],
            context={
                "resolution": {"number": "1244 (CI)"},
                "step": "transmittal",
                "requested_by": "X",
                "due": invitation_context()["deadline"],
                "link": "https://x",
            },
        )
        session.commit()
        delivery = session.exec(select(Delivery)).one()
        assert "12:00 (Eastern Daylight Time)" in delivery.body
