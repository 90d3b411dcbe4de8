"""The reminder sweep: every hour, every reminder that is due, sent once."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from tasks.notify import dispatch_due
from tasks.reminders import enqueue_due_reminders, resume_decided_runs


@flow(name="reminder_sweep", log_prints=False)
def reminder_sweep() -> dict[str, Any]:
    """Send the reminders due now across all obligations and national positions, in one batch."""
    found = enqueue_due_reminders()
    sent = dispatch_due()
    resumed = resume_decided_runs()
    create_markdown_artifact(
        key="reminder-sweep",
        markdown=(
            f"# Reminder sweep as of {found.as_of.isoformat()}\n\n"
            f"- reminders due: {found.due}\n- newly enqueued: {found.reminders} "
            f"in {found.messages} messages\n"
            f"- approvals escalated (undecided past the timeout): {found.escalated}\n"
            f"- sent: {sent.sent}, failed: {sent.failed}\n"
            f"- suspended runs resumed with a decision taken meanwhile: {resumed}\n"
        ),
        description="What the sweep found and sent",
    )
    # The run's result, as Prefect's UI shows it: plain JSON.
    summary = {**asdict(found), "as_of": found.as_of.isoformat()}
    return {**summary, "dispatch": sent.as_dict(), "resumed": resumed}
