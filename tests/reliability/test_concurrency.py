"""Concurrent writers through the core, on SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL.

Threads share the process's engine, as the web app's request handlers do; each unit of work is
its own session. After the race the counts must be exact and the audit chain whole.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from operative.cli import app
from operative.core import audit
from operative.core.db import get_engine, session_scope
from operative.models import Event, MemberState, Obligation, Submission
from operative.playbooks import national_positions as positions
from operative.register import obligations
from tests.conftest import SEED

THREADS = 8


def _race(workers: list[Callable[[], None]]) -> None:
    """Start every worker at once; re-raise the first error any of them hit."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait(timeout=30)
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a writer hung"
    if errors:
        raise errors[0]


def _chain_is_whole(url: str) -> int:
    with Session(get_engine(url)) as session:
        count, breaks = audit.verify(session)
    assert breaks == [], breaks[:3]
    return count


def _events(url: str) -> int:
    with Session(get_engine(url)) as session:
        return session.exec(select(func.count()).select_from(Event)).one()


def test_threads_appending_audit_events_keep_one_chain(db_url: str) -> None:
    """Catches a fork of the chain (two events after the same one) or a lost event when
    appends race: the last hash read outside a lock taken before the read."""
    per_thread = 25
    before = _events(db_url)

    def appender(writer: int) -> Callable[[], None]:
        def work() -> None:
            for index in range(per_thread):
                with session_scope(db_url) as session:
                    audit.append(session, actor=f"t{writer}", kind="test", subject=f"n:{index}")

        return work

    _race([appender(writer) for writer in range(THREADS)])
    assert _events(db_url) == before + THREADS * per_thread
    assert _chain_is_whole(db_url) == before + THREADS * per_thread


def _national_positions(url: str) -> int:
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0
    with Session(get_engine(url)) as session:
        obligation = session.exec(
            select(Obligation).where(Obligation.playbook == "national_positions")
        ).one()
        assert obligation.id is not None
        return obligation.id


def test_concurrent_submissions_for_different_states_are_all_recorded(db_url: str) -> None:
    """Catches a submission lost, or recorded without its audit event, when many missions
    answer at the same moment."""
    obligation_id = _national_positions(db_url)
    with Session(get_engine(db_url)) as session:
        states = list(
            session.exec(select(MemberState.iso3).order_by(col(MemberState.iso3)).limit(24))
        )
    before = _events(db_url)

    def submitter(chunk: list[str]) -> Callable[[], None]:
        def work() -> None:
            for iso3 in chunk:
                with session_scope(db_url) as session:
                    positions.submit(
                        session,
                        obligation_id,
                        iso3,
                        text=f"The national position of {iso3}.",
                        actor=f"mission:{iso3}",
                    )

        return work

    _race([submitter(states[i::THREADS]) for i in range(THREADS)])
    with Session(get_engine(db_url)) as session:
        received = session.exec(
            select(Submission.member_state_iso3).where(
                Submission.obligation_id == obligation_id,
                col(Submission.received_at).is_not(None),
            )
        ).all()
    assert sorted(received) == sorted(states)
    added = _events(db_url) - before
    assert added >= len(states), f"{added} audit events for {len(states)} submissions"
    _chain_is_whole(db_url)


def test_concurrent_progress_updates_never_go_backwards(db_url: str) -> None:
    """Catches the lost update of a read-then-write: two writers read 10 %, one records 60 %,
    the other 30 % after it, and the obligation's progress goes back to 30 %."""
    obligation_id = _national_positions(db_url)
    shuffle = random.Random(1244)
    for _round in range(5):
        with get_engine(db_url).begin() as connection:
            connection.execute(
                sa.update(Obligation).where(col(Obligation.id) == obligation_id).values(progress=0)
            )
        percents = shuffle.sample(range(1, 100), THREADS)

        def updater(percent: int) -> Callable[[], None]:
            def work() -> None:
                with session_scope(db_url) as session:
                    obligation = session.get(Obligation, obligation_id)
                    assert obligation is not None
                    time.sleep(0.02)  # the time a request takes between reading and writing
                    obligations.set_progress(session, obligation, percent)

            return work

        _race([updater(percent) for percent in percents])
        with Session(get_engine(db_url)) as session:
            final = session.get(Obligation, obligation_id)
            assert final is not None
            assert final.progress == max(percents), (final.progress, percents)
