"""Bench scenario ``sweep``: 100,000 obligations and submissions, 1,000 of them due.

Measures finding and enqueuing the due reminders (the sweep's work before sending), against
the bare indexed candidate query on the same database.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import pendulum
import sqlalchemy as sa

from bench.results import environment
from bench.results import result as _result

NOW = pendulum.datetime(2030, 3, 14, 9, 30, tz="Europe/Zurich").in_timezone("UTC")
OBLIGATIONS = 10_000
POSITION_CAMPAIGNS = 600
STATES_PER_CAMPAIGN = 150
DUE_CAMPAIGNS = 5  # × 150 unanswered states
DUE_OBLIGATIONS = 250


def _populate(url: str) -> None:
    from operative.core.clock import deadline, load_working_calendar
    from operative.core.db import get_engine, session_scope
    from operative.core.settings import get_settings
    from operative.models import Obligation, Paragraph, Resolution, Submission
    from operative.register import bootstrap

    calendar = load_working_calendar()
    due_day = calendar.shift(NOW.in_timezone("Europe/Zurich").date(), 10)
    soon = deadline(due_day, at="18:00", tz="Europe/Zurich")
    far = deadline(dt.date(2031, 6, 30), at="18:00", tz="Europe/Zurich")
    with session_scope(url) as session:
        bootstrap.load_member_states(session, get_settings().config_dir / "member_states.csv")
        codes = [
            row[0]
            for row in session.execute(sa.text("SELECT iso3 FROM member_state ORDER BY iso3"))
        ]
    engine = get_engine(url)
    stamp = pendulum.datetime(2030, 1, 1, tz="UTC")
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Resolution.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": 1,
                    "body": "Bench Council",
                    "number": "1",
                    "title": "Bench",
                    "language": "en",
                    "content_hash": "0" * 64,
                    "work_uri": "/akn/bench/1",
                    "expression_uri": "/akn/bench/1/eng@",
                    "source_name": "bench.txt",
                    "source_text": "",
                    "key_dates": {},
                    "ingested_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        connection.execute(
            sa.insert(Paragraph.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": i,
                    "resolution_id": 1,
                    "kind": "operative",
                    "position": i,
                    "num": str(i),
                    "eid": f"para_{i}",
                    "text": "Requests…",
                    "subparagraphs": [],
                }
                for i in range(1, OBLIGATIONS + 1)
            ],
        )
        rows = []
        for i in range(1, OBLIGATIONS + 1):
            campaign = i <= POSITION_CAMPAIGNS
            due = (
                soon
                if (campaign and i <= DUE_CAMPAIGNS)
                or (not campaign and i <= POSITION_CAMPAIGNS + DUE_OBLIGATIONS)
                else far
            )
            rows.append(
                {
                    "id": i,
                    "paragraph_id": i,
                    "playbook": "national_positions" if campaign else "track_obligation",
                    "kind": "action",
                    "actor_role": "secretariat",
                    "due_at": due,
                    "status": "in_progress",
                    "progress": 0,
                    "reassigned": False,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        connection.execute(sa.insert(Obligation.__table__), rows)  # type: ignore[attr-defined]
        submissions = [
            {"obligation_id": campaign, "member_state_iso3": code, "invited_at": stamp}
            for campaign in range(1, POSITION_CAMPAIGNS + 1)
            for code in codes[:STATES_PER_CAMPAIGN]
        ]
        connection.execute(sa.insert(Submission.__table__), submissions)  # type: ignore[attr-defined]


def run() -> list[dict[str, Any]]:
    with (
        tempfile.TemporaryDirectory(prefix="operative-sweep-") as scratch,
        environment(OPERATIVE_DATA_DIR=scratch, OPERATIVE_DATABASE_URL=None),
    ):
        from operative.core.db import dispose_engines, session_scope
        from operative.reminders.policy import load_reminder_config
        from operative.reminders.sweep import candidates_query, enqueue_due, find_due

        dispose_engines()
        url = f"sqlite:///{Path(scratch) / 'operative.db'}"
        try:
            _populate(url)
            config = load_reminder_config()
            with session_scope(url) as session:
                start = time.perf_counter()
                baseline_rows = session.execute(candidates_query(NOW, config)).all()
                baseline = time.perf_counter() - start
            with session_scope(url) as session:
                start = time.perf_counter()
                due = find_due(session, NOW)
                counts = enqueue_due(session, due, now=NOW)
                session.flush()
                value = time.perf_counter() - start
        finally:
            dispose_engines()
    assert (
        counts["reminders"] == len(due) == DUE_CAMPAIGNS * STATES_PER_CAMPAIGN + DUE_OBLIGATIONS
    ), (counts, len(due))
    return [
        _result(
            "sweep",
            "find_and_enqueue_1000_of_100000",
            value,
            "s",
            baseline=baseline,
            target="< 1 s",
            met=value < 1.0,
        ),
        _result("sweep", "candidate_rows", float(len(baseline_rows)), "rows"),
    ]
