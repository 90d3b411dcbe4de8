"""track_obligation on a real Prefect server: the policy's reminders on the business clock, evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
from sqlmodel import col, select

from flows.track_obligation import track_obligation
from operative.core import clock as calendar
from operative.core.db import session_scope
from operative.models import Obligation, Paragraph, ReminderSent, Resolution
from operative.register import obligations, records
from operative.register.ingest import ingest_file
from tests.flows.conftest import obligation_id

GA_FIXTURE = Path(__file__).parents[1] / "fixtures" / "resolutions" / "un-ga-en.md"


def _run(ob: int, year: int, month: int, day: int) -> str:
    at = pendulum.datetime(year, month, day, 10, tz="Europe/Zurich").in_timezone("UTC")
    with calendar.use_clock(lambda: at):
        return track_obligation(ob)


def _notices(data_dir: Path, recipient: str) -> list[dict[str, Any]]:
    inbox = [json.loads(p.read_text()) for p in (data_dir / "inbox").glob("*.json")]
    return [m for m in inbox if m["recipient"] == recipient]


def _status(ob: int) -> str:
    with session_scope() as session:
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        return str(obligation.status)


def test_owner_is_reminded_once_per_stage_and_the_obligation_is_done_with_evidence(
    flows_env: Path,
) -> None:
    """The owner hears at each stage of config/reminders.yaml, never twice; evidence closes it."""
    ob = obligation_id("inform_member_states")
    with session_scope() as session:
        obligations.reassign(
            session, ob, "track_obligation", actor="officer", reason="tracked by hand"
        )
    # OP1 is due on 2 October 2013, 18:00 in Geneva; its owner is the Director General's office.
    # The policy's stages: 18 and 25 September, 1 October, then 7 and 10 October (overdue).
    assert _run(ob, 2013, 9, 10) == "awaiting_evidence"
    assert _notices(flows_env, "director_general") == []
    assert _run(ob, 2013, 9, 18) == "awaiting_evidence"
    assert _run(ob, 2013, 9, 20) == "awaiting_evidence"
    before = _notices(flows_env, "director_general")
    assert (
        len(before) == 1
        and "due 2 October 2013, 18:00, Geneva time; 10 working days left" in before[0]["body"]
    )
    assert _run(ob, 2013, 9, 25) == "awaiting_evidence"
    assert _run(ob, 2013, 10, 1) == "awaiting_evidence"
    assert len(_notices(flows_env, "director_general")) == 3

    assert _run(ob, 2013, 10, 3) == "awaiting_evidence"
    assert _run(ob, 2013, 10, 8) == "awaiting_evidence"
    assert len(_notices(flows_env, "director_general")) == 4, "one notice on the first stage late"
    assert _run(ob, 2013, 10, 10) == "awaiting_evidence"
    assert len(_notices(flows_env, "director_general")) == 5
    with session_scope() as session:
        stages = session.exec(
            select(ReminderSent.stage)
            .where(ReminderSent.target == f"obligation:{ob}")
            .order_by(col(ReminderSent.id))
        ).all()
        assert stages == ["before-10", "before-5", "before-1", "overdue-1", "overdue-2"]
        records.add_record(
            session,
            ob,
            kind="evidence",
            text="Briefings of 12 March and 10 July 2013 sent to all missions",
            actor="officer",
            reference="https://example.org/briefings",
        )
    assert _run(ob, 2013, 10, 11) == "done"
    assert _status(ob) == "done"
    assert len(_notices(flows_env, "director_general")) == 5


def test_declaratory_paragraph_closes_on_its_affirmation_and_unknown_owners_fall_to_secretariat(
    flows_env: Path,
) -> None:
    """A "takes note" paragraph needs only its record and asks nobody to act, so nobody is
    reminded of it; a request to an unknown office still nags, the secretariat."""
    with session_scope() as session:
        ingest_file(session, GA_FIXTURE)
        found = session.exec(
            select(Paragraph.num, Obligation)
            .join(Obligation, col(Obligation.paragraph_id) == col(Paragraph.id))
            .join(Resolution, col(Resolution.id) == col(Paragraph.resolution_id))
            .where(Resolution.number == "99/101")
        ).all()
        by_num = {num: obligation for num, obligation in found}
        takes_note, report = by_num["5"], by_num["6"]
        assert (takes_note.kind, takes_note.playbook) == ("declaratory", "track_obligation")
        assert report.actor_role == "secretary_general" and report.playbook == "track_obligation"
        takes_note_id, report_id = takes_note.id or 0, report.id or 0

    assert _run(takes_note_id, 2045, 3, 20) == "awaiting_affirmation"
    assert _run(report_id, 2045, 3, 20) == "awaiting_evidence"
    notices = _notices(flows_env, "secretariat")
    assert len(notices) == 1 and "(track_obligation): due" in notices[0]["body"]
    assert "overdue" in notices[0]["body"]

    with session_scope() as session:
        for ob in (takes_note_id, report_id):
            records.add_record(
                session,
                ob,
                kind="affirmation",
                text="Noted in the plenary record",
                actor="officer",
            )
    assert _run(takes_note_id, 2045, 3, 21) == "done"
    assert _run(report_id, 2045, 3, 21) == "awaiting_evidence", "an action needs evidence"
    assert len(_notices(flows_env, "secretariat")) == 1
