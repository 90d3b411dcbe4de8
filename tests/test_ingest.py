"""Registering resolutions: the seed's obligations, idempotence, and replacement."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, col, func, select

from operative.core.db import get_engine
from operative.models import Event, Obligation, ObligationStatus, Paragraph, Resolution
from operative.register.obligations import transition
from tests.conftest import SEED, run_cli

EXPECTED = [
    ("1", "request", "Request", "Director General", "inform_member_states", "2013-10-02T16:00:00Z"),
    (
        "2",
        "request",
        "Further request",
        "Director General",
        "migrant_perspectives",
        "2013-10-04T16:00:00Z",
    ),
    ("3", "affirm", "Affirm", "Member States", "lead_agency_statement", "2013-07-05T16:00:00Z"),
    ("4", "encourage", "Encourage", "Member States", "national_positions", "2013-08-08T16:00:00Z"),
    (
        "5",
        "request",
        "Request",
        "Chairperson of the IOM Council",
        "forward_to_pga",
        "2012-12-18T17:00:00Z",
    ),
]


def _ingest_json(*args: str) -> dict:
    result = run_cli("ingest", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _counts(url: str) -> tuple[int, int, int, int]:
    with Session(get_engine(url)) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(model)).one()
            for model in (Resolution, Paragraph, Obligation, Event)
        )


def test_seed_gives_five_obligations_with_the_designed_playbooks(db_url: str) -> None:
    """The acceptance line of issue 2: 10 + 5 paragraphs, verbs, addressees and playbooks of 1244."""
    document = _ingest_json(str(SEED))
    assert len(document["preambular"]) == 10
    got = [
        (p["num"], p["verb"], p["verb_text"], p["addressee"], o["playbook"], o["due_at"])
        for p, o in zip(document["operative"], document["obligations"], strict=True)
    ]
    assert got == EXPECTED
    resolution = document["resolution"]
    assert (resolution["body"], resolution["number"], resolution["session"]) == (
        "IOM Council",
        "1244",
        101,
    )
    assert resolution["adopted_on"] == "2012-11-27"
    assert resolution["key_dates"] == {
        "adopted": "2012-11-27",
        "hld": "2013-10-03",
        "hld_end": "2013-10-04",
    }
    assert document["obligations"][2]["kind"] == "declaratory"


def test_ingesting_the_same_resolution_twice_changes_nothing(db_url: str) -> None:
    """Re-running an import (a retry, a cron) must not duplicate paragraphs or obligations."""
    first = _ingest_json(str(SEED))
    before = _counts(db_url)
    second = _ingest_json(str(SEED))
    assert second == first
    assert _counts(db_url) == before


def test_changed_text_is_refused_without_replace_and_nothing_is_written(
    db_url: str, tmp_path: Path
) -> None:
    """A silently overwritten resolution would rewrite obligations people are working on."""
    _ingest_json(str(SEED))
    before = _counts(db_url)
    changed = tmp_path / "resolution-1244.txt"
    changed.write_text(
        SEED.read_text(encoding="utf-8").replace("fully informed", "regularly informed"),
        encoding="utf-8",
    )
    result = run_cli("ingest", str(changed))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert (
        "already registered with a different text" in result.stderr and "--replace" in result.stderr
    )
    assert _counts(db_url) == before


def test_replace_keeps_unchanged_obligations_and_their_history(db_url: str, tmp_path: Path) -> None:
    """A corrected text must not reset the work already done on paragraphs it did not touch."""
    document = _ingest_json(str(SEED))
    ids = {o["paragraph"]: o["id"] for o in document["obligations"]}
    with Session(get_engine(db_url)) as session:
        op4 = session.get(Obligation, ids["4"])
        assert op4 is not None
        transition(session, op4, ObligationStatus.in_progress, actor="officer")
        session.commit()
    reassigned = run_cli(
        "reassign", str(ids["2"]), "track_obligation", "--reason", "handled by the focal point"
    )
    assert reassigned.returncode == 0, reassigned.stderr

    text = SEED.read_text(encoding="utf-8")
    changed = tmp_path / "resolution-1244.txt"
    changed.write_text(
        text.replace("fully informed", "regularly informed").replace(
            "perspectives of migrants themselves", "voices of migrants themselves"
        ),
        encoding="utf-8",
    )
    refused = run_cli("ingest", str(changed))
    assert refused.returncode == 2
    replaced = _ingest_json(str(changed), "--replace")
    after = {o["paragraph"]: o for o in replaced["obligations"]}
    assert {p: o["id"] for p, o in after.items()} == ids
    assert after["4"]["status"] == "in_progress"
    assert after["2"]["playbook"] == "track_obligation"
    assert replaced["operative"][0]["text"].startswith(
        "Request the Director General to keep Member States regularly informed"
    )
    with Session(get_engine(db_url)) as session:
        kinds = session.exec(select(Event.kind).order_by(col(Event.id))).all()
    assert kinds[-1] == "resolution.replaced"
    assert "obligation.status" in kinds and "obligation.reassigned" in kinds


def test_replace_cancels_the_obligation_of_a_withdrawn_paragraph(
    db_url: str, tmp_path: Path
) -> None:
    """A paragraph gone from the corrected text must not keep generating work."""
    _ingest_json(str(SEED))
    text = SEED.read_text(encoding="utf-8")
    cut = text[: text.index("5. *Request* the Chairperson")].rstrip().rstrip(";") + ".\n"
    shorter = tmp_path / "resolution-1244.txt"
    shorter.write_text(cut, encoding="utf-8")
    replaced = _ingest_json(str(shorter), "--replace")
    assert [p["num"] for p in replaced["operative"]] == ["1", "2", "3", "4"]
    listed = json.loads(run_cli("obligations", "--json").stdout)
    assert {o["paragraph"]: o["status"] for o in listed}["5"] == "cancelled"


def test_akn_export_reingests_as_the_same_resolution(db_url: str, tmp_path: Path) -> None:
    """The XML we hand to others must come back as the very resolution it came from."""
    document = _ingest_json(str(SEED))
    xml = tmp_path / "1244.xml"
    exported = run_cli("akn", str(document["resolution"]["id"]), "-o", str(xml))
    assert exported.returncode == 0, exported.stderr
    before = _counts(db_url)
    again = _ingest_json(str(xml))
    assert again["resolution"]["content_hash"] == document["resolution"]["content_hash"]
    assert _counts(db_url) == before


def test_new_key_dates_need_replace_and_then_move_deadlines_not_yet_started(db_url: str) -> None:
    """The HLD moved: deadlines follow with --replace; without it, the refusal says why."""
    document = _ingest_json(str(SEED))
    refused = run_cli("ingest", str(SEED), "--date", "hld=2013-10-10")
    assert refused.returncode == 2 and "other key dates (hld)" in refused.stderr
    moved = _ingest_json(str(SEED), "--date", "hld=2013-10-10", "--replace")
    before = {o["paragraph"]: o["due_at"] for o in document["obligations"]}
    after = {o["paragraph"]: o["due_at"] for o in moved["obligations"]}
    assert after["1"] == "2013-10-09T16:00:00Z" and before["1"] == "2013-10-02T16:00:00Z"
    assert after["5"] == before["5"], "a deadline set from adoption does not move"
