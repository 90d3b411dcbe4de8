"""Playbook rules and the obligation lifecycle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from operative.models import Obligation, ObligationStatus
from operative.register.obligations import (
    GENERIC_PLAYBOOK,
    TRANSITIONS,
    ConfigError,
    LifecycleError,
    derive,
    is_overdue,
    load_playbooks,
    transition,
)
from tests.factories import refusal

DATES = {
    "adopted": dt.date(2012, 11, 27),
    "hld": dt.date(2013, 10, 3),
    "hld_end": dt.date(2013, 10, 4),
}


@pytest.mark.parametrize(
    ("verb", "addressee", "text", "playbook"),
    [
        (
            "request",
            "Directeur général",
            "de tenir les États Membres pleinement informés des préparatifs",
            "inform_member_states",
        ),
        (
            "request",
            "Director General",
            "que vele por que ... las perspectivas de los migrantes mismos",
            "migrant_perspectives",
        ),
        (
            "encourage",
            "Estados Miembros",
            "a reflejar esta resolución en sus posiciones nacionales",
            "national_positions",
        ),
        (
            "request",
            "Président du Conseil",
            "de transmettre la présente résolution au Président de l’Assemblée générale",
            "forward_to_pga",
        ),
    ],
)
def test_rules_match_french_and_spanish_wording(
    verb: str, addressee: str, text: str, playbook: str
) -> None:
    """The same resolution in another working language must land on the same playbooks."""
    derived = derive(load_playbooks(), verb=verb, addressee=addressee, text=text, dates=DATES)
    assert derived.playbook == playbook


def test_unmatched_paragraph_gets_the_generic_playbook_and_default_due_date() -> None:
    """Nothing is dropped: a paragraph no rule knows is still tracked, due 90 days after adoption."""
    derived = derive(
        load_playbooks(),
        verb="decide",
        addressee=None,
        text="Decides to convene a meeting",
        dates=DATES,
    )
    assert derived.playbook == GENERIC_PLAYBOOK
    assert derived.kind == "action"
    assert derived.actor_role == "secretariat"
    assert derived.due_on == dt.date(2013, 2, 25)


def test_declaratory_paragraph_is_recorded_as_declaratory_due_on_adoption() -> None:
    """Welcoming or taking note asks for no work, but the register still shows the paragraph."""
    derived = derive(
        load_playbooks(), verb="welcome", addressee=None, text="Welcomes the report", dates=DATES
    )
    assert (derived.playbook, derived.kind, derived.due_on) == (
        GENERIC_PLAYBOOK,
        "declaratory",
        DATES["adopted"],
    )


def test_rule_anchored_on_a_missing_date_falls_back_to_the_default() -> None:
    """A resolution with no HLD date still gets a deadline rather than none."""
    derived = derive(
        load_playbooks(),
        verb="encourage",
        addressee="Member States",
        text="to reflect it in their national positions",
        dates={"adopted": DATES["adopted"]},
    )
    assert derived.playbook == "national_positions"
    assert derived.due_on == dt.date(2013, 2, 25)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (
            "playbooks: {track_obligation: {title: x}}\ndeclaratory: {verbs: []}\nrules:\n  - {name: r, playbook: nope}\n",
            "rules[0] (r): unknown playbook 'nope'",
        ),
        (
            "playbooks: {a: {title: x}}\ndeclaratory: {verbs: []}\nrules: []\n",
            "generic playbook 'track_obligation' is missing",
        ),
        (
            "playbooks: {track_obligation: {title: x}}\ndeclaratory: {verbs: []}\nrules:\n  - {name: r, playbook: track_obligation, due: {anchor: x, days: soon}}\n",
            "rules.0.due.days",
        ),
        ("playbooks: [\n", ":2: not valid YAML"),
    ],
)
def test_bad_playbook_config_is_refused_naming_the_key(
    tmp_path: Path, content: str, named: str
) -> None:
    """A typo in the rules must stop the load with its place named, not derive wrong work."""
    message = refusal(load_playbooks, ConfigError, tmp_path / "playbooks.yaml", content)
    assert named in message
    assert "\n" not in message


def test_lifecycle_allows_exactly_the_designed_transitions() -> None:
    """planned → in_progress ⇄ awaiting_approval → done, or cancelled; nothing leaves done."""
    s = ObligationStatus
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert allowed == {
        (s.planned, s.in_progress),
        (s.planned, s.cancelled),
        (s.in_progress, s.awaiting_approval),
        (s.in_progress, s.done),
        (s.in_progress, s.cancelled),
        (s.awaiting_approval, s.in_progress),
        (s.awaiting_approval, s.done),
        (s.awaiting_approval, s.cancelled),
    }


def test_forbidden_transition_raises_and_changes_nothing() -> None:
    """Done is final: a late flow step must not reopen a closed obligation."""
    obligation = Obligation(
        id=7, paragraph_id=1, playbook="x", actor_role="r", status=ObligationStatus.done
    )
    with pytest.raises(LifecycleError, match="cannot go from done to in_progress"):
        transition(None, obligation, ObligationStatus.in_progress, actor="t")  # type: ignore[arg-type]
    assert obligation.status == ObligationStatus.done


def test_overdue_is_derived_from_due_date_and_status() -> None:
    """Overdue is never stored, so it can never be stale."""
    due = dt.datetime(2013, 1, 1, 17, tzinfo=dt.UTC)
    later = due + dt.timedelta(minutes=1)
    open_one = Obligation(paragraph_id=1, playbook="x", actor_role="r", due_at=due)
    done_one = Obligation(
        paragraph_id=1, playbook="x", actor_role="r", due_at=due, status=ObligationStatus.done
    )
    assert is_overdue(open_one, later) and not is_overdue(open_one, due)
    assert not is_overdue(done_one, later)
