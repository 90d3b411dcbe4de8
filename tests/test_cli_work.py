"""The work commands refuse bad input in one line, exit 2, before anything changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SEED, run_cli


@pytest.fixture
def registered(isolated_env: Path) -> dict[str, int]:
    """1244 registered, with users; returns obligation ids by playbook."""
    assert run_cli("init").returncode == 0
    document = json.loads(run_cli("ingest", str(SEED), "--json").stdout)
    for args in (["officer", "--role", "officer"], ["chair", "--role", "chair"]):
        assert run_cli("users", "add", *args).returncode == 0
    return {o["playbook"]: o["id"] for o in document["obligations"]}


def test_run_refuses_unknown_playbook_resolution_or_obligation(registered: dict[str, int]) -> None:
    """A typo must be caught before a Prefect server is started or a run is created."""
    cases = [
        (
            ["run", "forward_to_pgaa", "--resolution", "1", "--as", "officer"],
            "unknown playbook 'forward_to_pgaa'",
        ),
        (
            ["run", "forward_to_pga", "--resolution", "9", "--as", "officer"],
            "no resolution with id 9",
        ),
        (
            ["run", "forward_to_pga", "--resolution", "1", "--as", "officer", "--obligation", "99"],
            "no obligation with id 99",
        ),
        (
            [
                "run",
                "forward_to_pga",
                "--resolution",
                "1",
                "--as",
                "officer",
                "--obligation",
                str(registered["national_positions"]),
            ],
            "follows national_positions, not forward_to_pga",
        ),
        (["run", "forward_to_pga", "--resolution", "1", "--as", "nobody"], "unknown user 'nobody'"),
        (
            ["run", "forward_to_pga", "--resolution", "1", "--as", "chair"],
            "needs the role 'officer'",
        ),
    ]
    for args, expected in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and result.stderr.count("\n") == 1


def test_approve_refuses_unknown_decided_and_unauthorised_decisions(
    registered: dict[str, int],
) -> None:
    """Nobody may approve what does not exist, what is decided, or what is not theirs to decide."""
    from operative.core.db import session_scope
    from operative.register import approvals

    with session_scope() as session:
        approval = approvals.request(
            session,
            obligation_id=registered["forward_to_pga"],
            step="letter",
            role="chair",
            drafted_by="chair",
        )
    approval_id = str(approval.id)
    shown = run_cli("approvals", "--show", approval_id)
    assert (
        shown.returncode == 0
        and "pending" in shown.stdout
        and f"operative approve {approval_id}" in shown.stdout
    )
    assert run_cli("approvals", "--show", "999").returncode == 2
    expectations = [
        (["approve", "999", "--as", "chair"], "no approval 999"),
        (["approve", approval_id, "--as", "nobody"], "unknown user 'nobody'"),
        (["approve", approval_id, "--as", "officer"], "needs the role 'chair'"),
        (["approve", approval_id, "--as", "chair"], "a second person must decide"),
    ]
    for args, expected in expectations:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and result.stderr.count("\n") == 1
    assert run_cli("users", "add", "chair2", "--role", "chair").returncode == 0
    rejected = run_cli("approve", approval_id, "--as", "chair2", "--reject")
    assert rejected.returncode == 2 and "needs a reason" in rejected.stderr
    ok = run_cli("approve", approval_id, "--as", "chair2")
    assert ok.returncode == 0, ok.stderr
    assert "approved by chair2" in ok.stdout
    again = run_cli("approve", approval_id, "--as", "chair2")
    assert again.returncode == 2 and "already approved by chair2" in again.stderr
    listed = json.loads(run_cli("approvals", "--json").stdout)
    assert listed == []


def test_submission_from_a_non_member_or_of_a_bad_file_is_refused(
    registered: dict[str, int], tmp_path: Path
) -> None:
    """Only Member States submit positions, and only files the secretariat can read."""
    position = tmp_path / "position.txt"
    position.write_text("Our national position.", encoding="utf-8")
    binary = tmp_path / "position.exe"
    binary.write_bytes(b"MZ\x00\x00")
    for args, expected in [
        (["submissions", "add", "PRK", str(position)], "'PRK' is not an active Member State"),
        (["submissions", "add", "XXX", str(position)], "'XXX' is not an active Member State"),
        (["submissions", "add", "FRA", str(binary)], "not accepted"),
        (["submissions", "add", "FRA", str(tmp_path / "missing.txt")], "cannot read"),
        (
            ["submissions", "review", "FRA", "reflects", "--as", "officer"],
            "no national position received from FRA",
        ),
        (["submissions", "review", "FRA", "maybe", "--as", "officer"], "verdict 'maybe'"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and result.stderr.count("\n") == 1
    added = run_cli("submissions", "add", "fra", str(position))
    assert added.returncode == 0, added.stderr
    refused = run_cli("submissions", "review", "FRA", "reflects", "--as", "chair")
    assert refused.returncode == 2 and "needs the role 'officer'" in refused.stderr
    reviewed = run_cli("submissions", "review", "FRA", "reflects", "--as", "officer")
    assert reviewed.returncode == 0 and "FRA: reflects" in reviewed.stdout


def test_a_position_for_a_closed_campaign_is_refused(
    registered: dict[str, int], tmp_path: Path
) -> None:
    """After the campaign is done nobody would review it: say so instead of filing it away."""
    from operative.core.db import session_scope
    from operative.models import Obligation, ObligationStatus
    from operative.register.obligations import transition

    with session_scope() as session:
        campaign = session.get(Obligation, registered["national_positions"])
        assert campaign is not None
        transition(session, campaign, ObligationStatus.in_progress, actor="t")
        transition(session, campaign, ObligationStatus.done, actor="t")
    position = tmp_path / "late.txt"
    position.write_text("A late position.", encoding="utf-8")
    result = run_cli("submissions", "add", "AFG", str(position))
    assert result.returncode == 2 and "is done: no submission can be recorded" in result.stderr
