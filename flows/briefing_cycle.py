"""The briefing cycle: on the first of each month, start the briefing run of every obligation
that keeps Member States informed (``inform_member_states``) and is still open."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from prefect import flow, get_client, get_run_logger, task
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from sqlmodel import col, select

from operative.core.db import session_scope
from operative.i18n import local_time
from operative.models import FINISHED, Obligation
from operative.playbooks import Playbook
from tasks import transient_database_error

INFORM_DEPLOYMENT = "inform_member_states/inform-member-states"


@dataclass(frozen=True)
class OpenObligation:
    """An open obligation, and the run that last worked on it."""

    id: int
    last_flow_run_id: str | None


@task(retries=3, retry_delay_seconds=1, retry_condition_fn=transient_database_error)
def open_obligations(playbook: str) -> list[OpenObligation]:
    """The obligations following ``playbook`` that are neither done nor cancelled."""
    with session_scope() as session:
        rows = session.exec(
            select(Obligation)
            .where(Obligation.playbook == playbook)
            .where(col(Obligation.status).not_in(FINISHED))
            .order_by(col(Obligation.id))
        ).all()
        return [OpenObligation(row.id or 0, row.last_flow_run_id) for row in rows]


def _still_running(flow_run_id: str | None) -> str | None:
    """The state of an obligation's last run when it has not finished (waiting counts)."""
    if not flow_run_id:
        return None
    try:
        run_uuid = UUID(flow_run_id)
    except ValueError:
        return None
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(run_uuid).state
        except ObjectNotFound:
            return None
    return None if state is None or state.is_final() else state.name


def _month(moment: dt.datetime) -> str:
    """The month a run was scheduled in, in the secretariat's zone (YYYY-MM)."""
    return local_time(moment, "YYYY-MM")


@flow(name="briefing_cycle", log_prints=False)
def briefing_cycle(drafted_by: str = "secretariat") -> dict[str, str]:
    """Start this month's briefing for every open obligation to keep Member States informed."""
    month = _month(flow_run.scheduled_start_time)
    started: dict[str, str] = {}
    for item in open_obligations(Playbook.inform_member_states):
        busy = _still_running(item.last_flow_run_id)
        if busy is not None:
            # Its last run still waits (for the DG's approval, say): a second one would wait
            # on the same approval. That run carries the cycle on.
            started[str(item.id)] = f"skipped: run {item.last_flow_run_id} is {busy}"
            continue
        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync here: a FlowRun
            INFORM_DEPLOYMENT,
            parameters={"obligation_id": item.id, "drafted_by": drafted_by},
            timeout=0,
            # One briefing run per obligation and month, however often the cycle runs.
            idempotency_key=f"briefing-cycle:{item.id}:{month}",
        )
        started[str(item.id)] = f"started run {run.id}"
    get_run_logger().info("Briefing cycle: %s", started or "no open obligation")
    return started
