"""migrant_perspectives on a real Prefect server, replaying 1244's year on the business clock."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pendulum
from sqlmodel import select

from flows.migrant_perspectives import migrant_perspectives
from operative.core import audit
from operative.core import clock as calendar
from operative.core.db import session_scope
from operative.models import Document, Event, Obligation, StepRecord
from operative.register import records
from tests.flows.conftest import artifacts_of, obligation_id


def _at(day: dt.date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, 10, tz="Europe/Zurich").in_timezone(
        "UTC"
    )


def _log(ob: int, day: dt.date, *, migrants_spoke: bool, kind: str = "consultation") -> None:
    with calendar.use_clock(lambda: _at(day)), session_scope() as session:
        records.add_activity(
            session,
            ob,
            occurred_on=day,
            kind=kind,
            title=f"{kind} on {day}",
            migrants_spoke=migrants_spoke,
            actor="officer",
            evidence_url=f"https://example.org/evidence/{day}",
        )


def _run(ob: int, day: dt.date) -> str:
    with calendar.use_clock(lambda: _at(day)):
        return migrant_perspectives(ob, drafted_by="officer")


def _alerts(data_dir: Path) -> list[dict[str, Any]]:
    inbox = [json.loads(p.read_text()) for p in (data_dir / "inbox").glob("*.json")]
    return [m for m in inbox if m["recipient"] == "focal_point"]


def test_each_lapse_alerts_the_focal_point_once_and_the_report_closes_the_obligation(
    flows_env: Path,
) -> None:
    """Attention that lapses is flagged once per lapse, not every run; the year ends in a report."""
    ob = obligation_id("migrant_perspectives")
    _log(ob, dt.date(2013, 1, 10), migrants_spoke=True)
    # A panel where migrants did not speak does not keep the cadence.
    _log(ob, dt.date(2013, 2, 20), migrants_spoke=False, kind="panel")

    assert _run(ob, dt.date(2013, 3, 20)) == "monitoring"
    first = _alerts(flows_env)
    assert len(first) == 1
    assert "since 10 January 2013" in first[0]["body"]
    assert _run(ob, dt.date(2013, 3, 21)) == "monitoring"
    assert len(_alerts(flows_env)) == 1, "the same lapse is not alerted twice"

    _log(ob, dt.date(2013, 5, 15), migrants_spoke=True)
    assert _run(ob, dt.date(2013, 5, 20)) == "monitoring"
    assert len(_alerts(flows_env)) == 1, "the closed lapse was already alerted"

    _log(ob, dt.date(2013, 6, 20), migrants_spoke=True)
    assert _run(ob, dt.date(2013, 8, 30)) == "monitoring"
    assert len(_alerts(flows_env)) == 2
    with session_scope() as session:
        cycles = session.exec(
            select(StepRecord.cycle).where(StepRecord.step == "lapse-alert")
        ).all()
        assert sorted(cycles) == [
            dt.date(2013, 1, 10).toordinal(),
            dt.date(2013, 6, 20).toordinal(),
        ]
        obligation = session.get(Obligation, ob)
        assert obligation is not None and obligation.status == "in_progress"
        assert 60 < obligation.progress < 100

    assert _run(ob, dt.date(2013, 10, 4)) == "done", "the report is due on the last day"
    assert len(_alerts(flows_env)) == 2
    with session_scope() as session:
        report = session.exec(select(Document).where(Document.kind == "report")).one()
        assert "Activities recorded: 4" in report.body
        assert "migrants themselves spoke: 3 (75%)" in report.body
        assert "Lapses of more than 8 weeks: 2" in report.body
        assert "| 2013-06-20 | 2013-10-04 | 106 |" in report.body
        obligation = session.get(Obligation, ob)
        assert obligation is not None
        assert (obligation.status, obligation.progress) == ("done", 100)
        run_id = obligation.last_flow_run_id
        kinds = set(session.exec(select(Event.kind)).all())
        assert {"activity.recorded", "document.drafted", "obligation.status"} <= kinds
        assert audit.verify(session)[1] == []
    assert run_id is not None
    keys = {a.key for a in artifacts_of(run_id)}
    assert {f"obligation-{ob}-report", f"obligation-{ob}-progress"} <= keys

    assert _run(ob, dt.date(2013, 10, 6)) == "done"
    assert len(_alerts(flows_env)) == 2
