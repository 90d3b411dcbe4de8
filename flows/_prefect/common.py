"""What every playbook flow shares: the approval gate and the artifacts a run publishes."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from prefect import get_run_logger, pause_flow_run
from prefect.artifacts import create_progress_artifact, create_table_artifact
from prefect.context import FlowRunContext
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import ValidationError

from operative.core import clock, tokens
from operative.core.settings import get_settings
from operative.models import ObligationStatus
from operative.playbooks.statements import Text
from operative.register.runs import Brief
from tasks.documents import draft_document
from tasks.notify import send_message
from tasks.store import (
    Decision,
    Refused,
    StepResult,
    accept_decision,
    finish_step,
    mark_escalated,
    read_decision,
    release_lease,
    request_approval,
    set_status,
    step_result,
)

TIMEOUT_PURPOSE = "approval-timeout"
# How often a run waiting in its own process re-reads the register for its decision: after
# 10 s, then twice as long each time up to 5 minutes (each look is a resume and a new pause).
RECHECK_SECONDS = 10.0
RECHECK_MAX_SECONDS = 300.0

# Every playbook flow takes the obligation's run lease in ``begin`` and gives it back on a
# final state (completed, failed, crashed). Suspended or paused, a run keeps it: it is still
# the one working on the obligation, waiting for a decision. Cancelled runs are final and are
# taken over by the next run (a hook on "cancelling" would free it while the run still stops).
HOLDS_LEASE: dict[str, Any] = {
    "on_completion": [release_lease],
    "on_failure": [release_lease],
    "on_crashed": [release_lease],
}


class Approved(StepResult):
    """The result of an approved step: the document approved, by whom, after how many drafts."""

    document: int
    by: str
    drafts: int


class DecisionInput(RunInput):
    """What resumes a run waiting for approval: the approval and its signed decision token."""

    approval_id: int
    token: str


def message_context(brief: Brief) -> dict[str, Any]:
    """What every message about an obligation can say: the resolution, paragraph, deadline.

    A template's context, kept with the message as JSON: a mapping, not the brief itself.
    """
    resolution = dataclasses.asdict(brief.resolution)
    return {"resolution": resolution, "paragraph": brief.paragraph, "due": brief.due_at}


def current_run_id() -> str | None:
    """The id of the flow run this code runs in."""
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def _resume_self_after(run_id: str, approval_id: int, seconds: float) -> threading.Timer:
    """Resume this run with a token of its own after ``seconds``, to look at the register.

    Prefect fails a run whose own pause timeout expires; waking it ourselves instead lets the
    flow re-read the register, and escalate and end cleanly once the approval times out.
    """
    token = tokens.sign(
        TIMEOUT_PURPOSE,
        {"a": approval_id, "r": run_id},
        expires_at=clock.now().replace(year=clock.now().year + 1),
    )

    def fire() -> None:
        try:
            resume_flow_run(UUID(run_id), run_input={"approval_id": approval_id, "token": token})
        except Exception:
            return

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def _is_self_token(token: str, approval_id: int, run_id: str) -> bool:
    try:
        claims = tokens.verify(token, TIMEOUT_PURPOSE, at=clock.now())
    except tokens.TokenError:
        return False
    return claims.get("a") == approval_id and claims.get("r") == run_id


def approval_gate(
    obligation_id: int,
    *,
    step: str,
    role: str,
    drafted_by: str,
    context: Mapping[str, Any],
    cycle: int = 0,
    attempt: int = 1,
    document_id: int | None = None,
) -> Decision | None:
    """Ask ``role`` to decide, wait for a valid decision, and return it (None on timeout).

    The decision itself is taken by a person through ``operative approve`` or the web app,
    which check role and four-eyes and record it; this run only accepts a resume input that
    carries the matching signed token, so input typed into Prefect's own form decides nothing.
    """
    run_id = current_run_id()
    approval = request_approval(
        obligation_id, step, cycle, attempt, role, drafted_by, document_id, run_id
    )
    approval_id = approval.id
    if approval.decision.decision is not None:
        # Decided while no run was waiting (or in an earlier run): the register has it.
        set_status(
            obligation_id,
            ObligationStatus.in_progress,
            actor=f"flow:{step}",
            note="decision recorded",
        )
        return approval.decision

    set_status(obligation_id, ObligationStatus.awaiting_approval, actor=f"flow:{step}")
    send_message(
        f"approval:{approval_id}:request",
        "approval_request",
        obligation_id,
        {
            **context,
            "step": step,
            "requested_by": drafted_by,
            "link": f"operative approvals --show {approval_id}",
        },
        roles=[role],
    )
    assert run_id is not None
    description = (
        f"Approval {approval_id}: {step} needs a decision by {role}. "
        f"Decide with `operative approve {approval_id} --as USER`; this form "
        "accepts only a signed decision token."
    )
    if _deployed():
        _suspend_until_decided(approval_id, description)
    elif not _pause_until_decided(
        obligation_id,
        approval_id,
        run_id,
        description,
        escalation={**context, "step": step, "requested_by": drafted_by},
        roles=[role, "secretariat"],
    ):
        return None
    decided = read_decision(approval_id)
    set_status(
        obligation_id,
        ObligationStatus.in_progress,
        actor=f"flow:{step}",
        note=f"approval {decided.decision}",
    )
    return decided


def _accepted(approval_id: int, given: DecisionInput) -> bool:
    """Whether a resume input carries this approval's recorded decision (its token spent)."""
    logger = get_run_logger()
    if given.approval_id != approval_id:
        # A late resume meant for an earlier approval of this run: not this decision.
        logger.info("Approval %s: ignored input for approval %s", approval_id, given.approval_id)
        return False
    accepted = accept_decision(approval_id, given.token)
    if isinstance(accepted, Refused):
        logger.warning("Approval %s: refused a resume input: %s", approval_id, accepted.reason)
        return False
    return True


def _deployed() -> bool:
    """Whether this run belongs to a deployment (served or on a worker), which can suspend."""
    context = FlowRunContext.get()
    return (
        context is not None
        and context.flow_run is not None
        and (context.flow_run.deployment_id is not None)
    )


def _suspend_until_decided(approval_id: int, description: str) -> None:
    """Wait, as a deployed run, with no process at all until a valid decision is recorded.

    A worker's slot is not held for the days a decision can take: the run is suspended and,
    once resumed, run again from the top. Its steps are idempotent, and the gate then finds
    the decision in the register before asking again. Only a decision carried by the resume
    input alone (typed into Prefect's form with a valid token) is read from the input here.
    Each wait has its own key, so a refused input is followed by a new wait, not a loop.
    Escalation is the reminder sweep's (:func:`operative.reminders.sweep.escalate_stale_approvals`).
    """
    logger = get_run_logger()
    for wait in itertools.count():
        if read_decision(approval_id).decision is not None:
            return
        try:
            given = suspend_flow_run(
                wait_for_input=DecisionInput.with_initial_data(
                    description=description, approval_id=approval_id
                ),
                key=f"approval-{approval_id}-wait-{wait}",
            )
        except ValidationError:
            logger.warning("Approval %s: ignored a malformed resume input", approval_id)
            continue
        _accepted(approval_id, given)


def _pause_until_decided(
    obligation_id: int,
    approval_id: int,
    run_id: str,
    description: str,
    *,
    escalation: Mapping[str, Any],
    roles: list[str],
) -> bool:
    """Wait in this process for a valid decision; False if the approval timed out.

    The run wakes itself now and then (:data:`RECHECK_SECONDS`) to read the register: a resume that
    never reached it (sent a moment before it paused, or while its server was busy) cannot
    leave it waiting for a decision already taken. On timeout the approval is escalated once
    and the run ends, the obligation still awaiting approval: the decision, once taken, is
    read by the next run.
    """
    logger = get_run_logger()
    settings = get_settings()
    deadline = time.monotonic() + settings.approval_timeout_seconds
    for look in itertools.count():
        # The database is the record: a decision may be there though no resume arrived.
        if read_decision(approval_id).decision is not None:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        interval = min(RECHECK_SECONDS * 2**look, RECHECK_MAX_SECONDS)
        wake = _resume_self_after(run_id, approval_id, min(remaining, interval))
        try:
            given = pause_flow_run(
                wait_for_input=DecisionInput.with_initial_data(
                    description=description, approval_id=approval_id
                ),
                timeout=int(settings.approval_timeout_seconds) + 3600,
                # Prefect types it int but sleeps for it: a fraction of a second is kept.
                poll_interval=settings.approval_poll_seconds,  # type: ignore[call-overload]
            )
        except ValidationError:
            logger.warning("Approval %s: ignored a malformed resume input", approval_id)
            continue
        finally:
            wake.cancel()
        if given.approval_id == approval_id and _is_self_token(given.token, approval_id, run_id):
            continue
        if _accepted(approval_id, given):
            return True
    if mark_escalated(approval_id):
        send_message(
            f"approval:{approval_id}:escalation",
            "approval_request",
            obligation_id,
            {**escalation, "link": f"operative approvals --show {approval_id}"},
            roles=roles,
        )
    logger.warning(
        "Approval %s timed out: escalated; the obligation stays awaiting approval", approval_id
    )
    return False


def publish(
    obligation_id: int, progress: float, rows: Sequence[Mapping[str, Any]], description: str
) -> None:
    """The run's artifacts: where the obligation stands, and who was asked and who answered."""
    create_progress_artifact(
        progress=progress, key=f"obligation-{obligation_id}-progress", description=description
    )
    if rows:
        create_table_artifact(
            table=[dict(row) for row in rows],
            key=f"obligation-{obligation_id}-people",
            description=description,
        )


MAX_DRAFTS = 5


def until_approved(
    obligation_id: int,
    *,
    kind: str,
    step: str,
    approved_step: str,
    role: str,
    drafted_by: str,
    context: Mapping[str, Any],
    draft: Callable[[int, str | None], Text],
    cycle: int = 0,
    progress: int | None = None,
) -> Approved | None:
    """Draft, ask ``role`` to approve, redraft after a rejection; the approved step's result.

    ``draft(version, reason)`` gives a version's title and body; the reason of the rejection
    before it is kept as the new version's note. None when the approval timed out (escalated).
    A re-run replays the decisions already in the register and carries on from there.
    """
    logger = get_run_logger()
    approved = step_result(obligation_id, approved_step, Approved, cycle)
    attempt, reason = 1, None
    while approved is None:
        if attempt > MAX_DRAFTS:
            raise RuntimeError(
                f"obligation {obligation_id}: {MAX_DRAFTS} drafts of {kind} rejected"
            )
        text = draft(attempt, reason)
        document_id = draft_document(
            obligation_id, kind, cycle, attempt, text.title, text.body, drafted_by, reason
        )
        if progress is not None:
            publish(
                obligation_id,
                progress * attempt / (attempt + 1),
                [],
                f"Draft {attempt}: {text.title}",
            )
        decision = approval_gate(
            obligation_id,
            step=step,
            role=role,
            drafted_by=drafted_by,
            context=context,
            cycle=cycle,
            attempt=attempt,
            document_id=document_id,
        )
        if decision is None:
            return None
        if decision.decision == "approved":
            approved = Approved(document=document_id, by=decision.decided_by or "", drafts=attempt)
            finish_step(obligation_id, approved_step, cycle, result=approved, progress=progress)
        else:
            logger.info("%s draft %s rejected: %s", kind, attempt, decision.reason)
            attempt, reason = attempt + 1, decision.reason
    return approved
