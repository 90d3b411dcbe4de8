"""Tasks of reminders: the sweep's (find what is due and enqueue it, in one transaction) and a
playbook run's reminder step, both over :func:`operative.reminders.sweep.remind`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run

from operative.core import clock
from operative.core.db import session_scope
from operative.notify.dispatch import dispatch_pending
from operative.register import approvals
from operative.reminders import sweep
from tasks import REGISTER


@dataclass(frozen=True)
class SweepFound:
    """What one sweep found due at ``as_of`` and put in the outbox."""

    as_of: dt.datetime
    due: int
    reminders: int
    messages: int
    escalated: int


@task(**REGISTER)
def enqueue_due_reminders() -> SweepFound:
    """Find every reminder due now and put it in the outbox as one batch."""
    now = clock.now()
    with session_scope() as session:
        found = sweep.remind(session, now)
        escalated = sweep.escalate_stale_approvals(session, now=now)
    return SweepFound(now, found.due, found.reminders, found.messages, escalated)


@task(**REGISTER)
def send_due_reminders(obligation_id: int) -> sweep.Reminded:
    """A playbook run's reminder step: what the policy has due now for its obligation, sent.

    The same call as the sweep's, for one obligation, so a stage either sent is not sent again.
    """
    with session_scope() as session:
        reminded = sweep.remind(session, clock.now(), obligation_id=obligation_id)
    # Send even when this call queued nothing: a run killed between queueing a stage and
    # sending it finds the stage recorded on its re-run, and its deliveries still pending.
    dispatch_pending()
    return reminded


@task(**REGISTER)
def resume_decided_runs(days: int = 30) -> int:
    """Resume suspended runs whose decision was recorded while nobody could reach them."""
    # `operative approve` and the web app resume the run themselves; they cannot when its
    # server was down at the time (a stopped `serve`). The run then stays suspended, and the
    # decision in the register, until this finds it.
    with session_scope() as session:
        waiting = approvals.decided_waiting(session, since=clock.now() - dt.timedelta(days=days))
    ids = []
    for run_id in waiting:
        try:
            ids.append(UUID(run_id))
        except ValueError:
            continue
    if not ids:
        return 0
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=ids),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
            )
        )
    resumed = 0
    for run in runs:
        # A paused (in-process) run is reached by whoever decides, or is gone with its process.
        if run.state is None or run.state.name != "Suspended":
            continue
        approval_id, token = waiting[str(run.id)]
        try:
            resume_flow_run(run.id, run_input={"approval_id": approval_id, "token": token})
        except Exception as exc:  # the next sweep tries again
            get_run_logger().warning("could not resume run %s: %s", run.id, exc)
            continue
        resumed += 1
    return resumed
