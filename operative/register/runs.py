"""The run lease: one active run per obligation, and what a run learns when it takes it.

A run claims its obligation when it starts (:func:`begin`) and releases it when it ends
(:func:`release`); a second run finds it held and stops at once, writing nothing. A holder
that is no longer active is taken over, and the takeover is audited. Whether a holder is
still active is a question for the orchestrator (the core imports no Prefect): the caller
passes it in as ``holder_state``. A run in a final state, or unknown to the server, is not
active; nor is a run that needs its process (running, or paused in-process) when that process
is gone from this host, which is how a SIGKILLed `operative run` leaves things — Prefect still
shows it running, since nothing was left to say otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col

from operative.core import audit, clock, processes
from operative.core.db import session_scope
from operative.errors import Invalid, NotFound
from operative.models import FINISHED, Obligation, Paragraph, Resolution
from operative.register import obligations

# How often a run retries the lease when others take it over or release it under its feet.
CLAIM_ATTEMPTS = 5


@dataclass(frozen=True)
class RunHolder:
    """The run holding an obligation's lease."""

    run_id: str
    since: dt.datetime | None
    process: str | None


@dataclass(frozen=True)
class ResolutionBrief:
    """The resolution an obligation comes from, as a run reads it."""

    id: int
    body: str
    number: str
    title: str
    adopted_on: dt.date | None
    source_name: str
    key_dates: Mapping[str, dt.date] = field(default_factory=dict)


@dataclass(frozen=True)
class Brief:
    """What a run holding the lease knows of its obligation when it starts."""

    obligation_id: int
    playbook: str
    status: str
    paragraph: str
    paragraph_text: str
    actor_role: str
    due_at: dt.datetime | None
    resolution: ResolutionBrief


@dataclass(frozen=True)
class Stopped:
    """Why a run has nothing to do: its obligation is finished, or another run holds it."""

    reason: str
    holder_state: str | None = None


HolderState = Callable[[RunHolder], str | None]


def claim_run(
    session: Session,
    obligation_id: int,
    run_id: str,
    *,
    process: str,
    replacing: str | None = None,
) -> bool:
    """Make ``run_id`` the obligation's active run; False if another run holds it.

    One conditional UPDATE, so two runs cannot both win: on PostgreSQL the second waits for
    the first's row lock and then finds the lease taken; on SQLite ``BEGIN IMMEDIATE`` has
    serialised them already. Without ``replacing``, the lease is claimed when free or held by
    this same run (a suspended run resumed runs again from the top); with it, only from that
    holder, which the caller found no longer active.
    """
    holder = col(Obligation.active_run_id)
    allowed = holder == replacing if replacing else sa.or_(holder.is_(None), holder == run_id)
    claimed = session.execute(
        sa.update(Obligation)
        .where(col(Obligation.id) == obligation_id, allowed)
        .values(active_run_id=run_id, active_since=clock.now(), active_process=process)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def release_run(session: Session, obligation_id: int, run_id: str) -> bool:
    """Free the lease if ``run_id`` holds it; False if it did not (refused, or taken over)."""
    released = session.execute(
        sa.update(Obligation)
        .where(col(Obligation.id) == obligation_id, col(Obligation.active_run_id) == run_id)
        .values(active_run_id=None, active_since=None, active_process=None)
        .execution_options(synchronize_session=False)
    )
    return bool(released.rowcount == 1)  # type: ignore[attr-defined]


def run_holder(session: Session, obligation_id: int) -> RunHolder | None:
    """The run holding the obligation's lease, as committed now."""
    row = session.execute(
        sa.select(
            col(Obligation.active_run_id),
            col(Obligation.active_since),
            col(Obligation.active_process),
        ).where(col(Obligation.id) == obligation_id)
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    return RunHolder(run_id=row[0], since=row[1], process=row[2])


def brief_of(session: Session, obligation: Obligation) -> Brief:
    """The obligation as a run reads it, with its paragraph and resolution."""
    paragraph = session.get(Paragraph, obligation.paragraph_id)
    assert paragraph is not None
    resolution = session.get(Resolution, paragraph.resolution_id)
    assert resolution is not None and resolution.id is not None and obligation.id is not None
    return Brief(
        obligation_id=obligation.id,
        playbook=obligation.playbook,
        status=str(obligation.status),
        paragraph=paragraph.num,
        paragraph_text=paragraph.text,
        actor_role=obligation.actor_role,
        due_at=obligation.due_at,
        resolution=ResolutionBrief(
            id=resolution.id,
            body=resolution.body,
            number=resolution.number,
            title=resolution.title,
            adopted_on=resolution.adopted_on,
            source_name=resolution.source_name,
            key_dates={
                name: dt.date.fromisoformat(day) for name, day in resolution.key_dates.items()
            },
        ),
    )


def _claim(
    session: Session, obligation_id: int, playbook: str, run_id: str, replacing: str | None
) -> Brief | Stopped | RunHolder | None:
    """The brief once this run holds the lease, why it stops, else the holder (None: just freed)."""
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFound(f"no obligation {obligation_id}")
    if obligation.playbook != playbook:
        raise Invalid(f"obligation {obligation_id} follows {obligation.playbook}, not {playbook}")
    if obligation.status in FINISHED:
        return Stopped(str(obligation.status))
    process = processes.this_process()
    if not claim_run(session, obligation_id, run_id, process=process, replacing=replacing):
        return run_holder(session, obligation_id)
    # Read again under the lease: what an earlier holder did is committed by now.
    session.refresh(obligation)
    if replacing is not None:
        audit.append(
            session,
            actor=f"flow:{playbook}",
            kind="obligation.run_taken_over",
            subject=f"obligation:{obligation_id}",
            payload={"from": replacing, "to": run_id},
        )
    if obligation.status in FINISHED:
        release_run(session, obligation_id, run_id)
        return Stopped(str(obligation.status))
    obligations.start(session, obligation, actor=f"flow:{playbook}")
    obligation.last_flow_run_id = run_id
    session.add(obligation)
    return brief_of(session, obligation)


def begin(
    obligation_id: int, playbook: str, flow_run_id: str | None, *, holder_state: HolderState
) -> Brief | Stopped:
    """Claim the obligation for this run, put it in progress, and brief the run.

    :class:`Stopped` says why the run has nothing to do: the obligation is done or cancelled,
    or another active run holds it (``already running: <run id>``, and this run wrote
    nothing). ``holder_state`` says whether a holder is active (its state) or not (None); it
    is asked outside the transaction, so no database lock is held while the orchestrator
    answers. One transaction per attempt: a holder found inactive is replaced in the next.
    """
    run_id = flow_run_id or f"process:{processes.this_process()}"
    replacing: str | None = None
    holder: RunHolder | None = None
    for _ in range(CLAIM_ATTEMPTS):
        with session_scope() as session:
            found = _claim(session, obligation_id, playbook, run_id, replacing)
        if found is None:
            replacing = None
            continue
        if not isinstance(found, RunHolder):
            return found
        holder = found
        state = holder_state(holder)
        if state is not None:
            return Stopped(f"already running: {holder.run_id}", holder_state=state)
        replacing = holder.run_id
    assert holder is not None
    return Stopped(f"already running: {holder.run_id}", holder_state="unknown")


def release(obligation_id: int, run_id: str) -> bool:
    """Free the obligation's lease if ``run_id`` holds it; False if it did not."""
    with session_scope() as session:
        return release_run(session, obligation_id, run_id)
