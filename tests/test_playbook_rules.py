"""The rules the playbook flows follow, decided in the core and tested without Prefect."""

from __future__ import annotations

import datetime as dt

import pytest

from operative.errors import Invalid
from operative.playbooks import forward_to_pga, migrant_perspectives, track_obligation
from operative.playbooks.track_obligation import Fact
from operative.register.runs import Brief, ResolutionBrief

ADOPTED = dt.date(2012, 11, 27)


def brief(
    *,
    key_dates: dict[str, dt.date] | None = None,
    due_at: dt.datetime | None = None,
    adopted_on: dt.date | None = ADOPTED,
    actor_role: str = "chair",
) -> Brief:
    return Brief(
        obligation_id=5,
        playbook="forward_to_pga",
        status="in_progress",
        paragraph="5",
        paragraph_text="Requests the Chairperson to transmit the present resolution",
        actor_role=actor_role,
        due_at=due_at,
        resolution=ResolutionBrief(
            id=1,
            body="Council",
            number="1244",
            title="Migration and development",
            adopted_on=adopted_on,
            source_name="resolution-1244.txt",
            key_dates=key_dates or {},
        ),
    )


def test_the_first_letter_is_the_transmittal_template_dated_for_new_york() -> None:
    """The Chairperson approves the letter the template writes, citing the adoption date."""
    letter = forward_to_pga.letter(brief(), version=1, reason=None, revised=None)
    assert letter.title == "Transmittal of IOM Council resolution No. 1244"
    assert "1244" in letter.body and "27 November 2012" in letter.body
    assert "[Draft" not in letter.body


def test_after_a_rejection_the_officers_revised_text_is_the_letter() -> None:
    """What the Chairperson asked to change is what officers wrote: sent as they wrote it."""
    letter = forward_to_pga.letter(
        brief(), version=2, reason="Cite 65/170", revised="Revised letter citing 65/170."
    )
    assert letter.body == "Revised letter citing 65/170."
    assert letter.title == "Transmittal of IOM Council resolution No. 1244"


def test_without_a_revised_text_the_template_goes_back_with_the_comment_noted() -> None:
    """The approver sees that nobody revised the letter, and what they had asked."""
    first = forward_to_pga.letter(brief(), version=1, reason=None, revised=None)
    again = forward_to_pga.letter(brief(), version=2, reason="Cite 65/170", revised=None)
    assert again.body == (
        first.body + "\n\n[Draft 2, no revised text recorded; the comment was: Cite 65/170]"
    )


def test_a_first_draft_ignores_revisions_recorded_before_it() -> None:
    """Only a rejection makes a revision the letter: draft 1 is always the template."""
    first = forward_to_pga.letter(brief(), version=1, reason=None, revised="Stale revision")
    assert first.body != "Stale revision"


@pytest.mark.parametrize(
    ("actor_role", "owner"),
    [("chair", "chair"), ("focal_point", "focal_point"), ("member_states", "secretariat")],
)
def test_the_owner_is_the_actor_role_operative_writes_to_else_the_secretariat(
    actor_role: str, owner: str
) -> None:
    """A reminder to a role with no address would reach nobody."""
    assert track_obligation.owner(actor_role) == owner


def test_a_declaratory_paragraph_is_done_by_its_affirmation_first() -> None:
    """Affirming is what a declaratory paragraph does; evidence also closes it."""
    facts = {
        "evidence": (Fact(id=7, kind="evidence", text="report"),),
        "affirmation": (Fact(id=9, kind="affirmation", text="affirmed"),),
    }
    assert track_obligation.proof(True, facts) == facts["affirmation"][0]
    assert track_obligation.proof(False, facts) == facts["evidence"][0]


def test_an_affirmation_does_not_close_an_obligation_that_asks_for_action() -> None:
    """Only evidence of the action proves a request done."""
    facts = {"affirmation": (Fact(id=9, kind="affirmation", text="affirmed"),)}
    assert track_obligation.proof(False, facts) is None
    assert track_obligation.waiting_for(False) == "awaiting_evidence"
    assert track_obligation.waiting_for(True) == "awaiting_affirmation"


def test_the_oldest_proof_is_named_in_the_done_note() -> None:
    """The register says which record closed the obligation."""
    facts = {"evidence": (Fact(3, "evidence", "first"), Fact(4, "evidence", "second"))}
    proof = track_obligation.proof(False, facts)
    assert proof is not None
    assert track_obligation.done_note(proof) == "marked done with evidence (record 3): first"


def test_the_period_runs_from_adoption_to_the_end_of_the_dialogue() -> None:
    """The key dates of the resolution bound the cadence check and date the report."""
    dates = {"adopted": dt.date(2012, 11, 28), "hld_end": dt.date(2013, 10, 4)}
    assert migrant_perspectives.period(brief(key_dates=dates), timezone="Europe/Zurich") == (
        dt.date(2012, 11, 28),
        dt.date(2013, 10, 4),
    )


def test_without_an_end_date_the_period_ends_on_the_due_day_in_geneva() -> None:
    """22:30 UTC on 4 October is already the 5th in Geneva, where the secretariat works."""
    due = dt.datetime(2013, 10, 4, 22, 30, tzinfo=dt.UTC)
    assert migrant_perspectives.period(brief(due_at=due), timezone="Europe/Zurich") == (
        ADOPTED,
        dt.date(2013, 10, 5),
    )
    assert migrant_perspectives.period(brief(), timezone="Europe/Zurich") == (ADOPTED, None)


def test_a_resolution_without_an_adoption_date_has_no_period() -> None:
    """The cadence needs a start; guessing one would report lapses that never were."""
    with pytest.raises(Invalid, match="no adoption date"):
        migrant_perspectives.period(brief(adopted_on=None), timezone="Europe/Zurich")


def test_progress_runs_from_five_to_ninety_and_the_last_day_closes_the_period() -> None:
    """The bar shows how much of the period is checked; the report alone completes it."""
    end = dt.date(2013, 10, 4)
    dated = brief(key_dates={"hld_end": end})

    def window(today: dt.date) -> migrant_perspectives.Window:
        return migrant_perspectives.window(dated, today=today, timezone="Europe/Zurich")

    assert not window(ADOPTED - dt.timedelta(days=1)).begun
    assert window(ADOPTED).progress == 5
    halfway = ADOPTED + (end - ADOPTED) / 2
    assert window(halfway).progress == 5 + int(85 * (halfway - ADOPTED).days / (end - ADOPTED).days)
    assert not window(end - dt.timedelta(days=1)).closing
    last = window(end + dt.timedelta(days=30))
    assert last.closing and last.until == end and last.progress == 90
