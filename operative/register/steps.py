"""Completion records of flow steps, keyed by (obligation, step, cycle).

A flow asks :func:`find` before a side-effecting step and calls :func:`record` in the same
transaction as the step's own writes, so a re-run after a crash skips exactly what was done.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from operative.core import clock
from operative.models import StepRecord


def find(session: Session, obligation_id: int, step: str, cycle: int = 0) -> StepRecord | None:
    """The completion record of a step, if the step is done."""
    return session.exec(
        select(StepRecord).where(
            StepRecord.obligation_id == obligation_id,
            StepRecord.step == step,
            StepRecord.cycle == cycle,
        )
    ).first()


def record(
    session: Session,
    obligation_id: int,
    step: str,
    cycle: int = 0,
    result: dict[str, Any] | None = None,
) -> StepRecord:
    """Mark a step done (once: a second call returns the first record)."""
    existing = find(session, obligation_id, step, cycle)
    if existing is not None:
        return existing
    row = StepRecord(
        obligation_id=obligation_id,
        step=step,
        cycle=cycle,
        completed_at=clock.now(),
        result=result or {},
    )
    session.add(row)
    session.flush()
    return row
