"""The generic playbook, for any paragraph no other playbook fits.

The owner is the obligation's actor role (the secretariat when that is not a role operative
writes to). The owner is reminded when config/reminders.yaml says (the hourly sweep does too:
both send each stage once between them); nobody is reminded of a declaratory paragraph, which
asks nobody to act. The obligation is done once evidence is recorded against it; a declaratory
paragraph also once its affirmation is recorded.
"""

from __future__ import annotations

from flows._prefect.playbook import Run, playbook
from operative.playbooks import track_obligation as rules
from tasks.activities import facts
from tasks.reminders import send_due_reminders


@playbook("track_obligation")
def track_obligation(run: Run) -> str:
    """Remind the owner before and after the deadline; done once evidence is recorded."""
    obligation_id = run.obligation_id
    known = facts(obligation_id)
    declaratory = known.kind == "declaratory"
    owner = rules.owner(run.brief.actor_role)
    proof = rules.proof(declaratory, known.records)
    if proof is not None:
        note = rules.done_note(proof)
        # The register keeps 500 characters of a note; the run's page shows all of it.
        return run.done(note[:500], [{"asked": owner, "answered": note}], "Done, with evidence")

    reminded = send_due_reminders(obligation_id)
    answer = f"reminded ({', '.join(reminded.stages)})" if reminded.stages else "no reminder due"
    rows = [{"asked": owner, "answered": answer}]
    run.publish(0, rows, f"Waiting for evidence; owner: {owner}")
    return rules.waiting_for(declaratory)
