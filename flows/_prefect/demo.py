"""``operative demo``: resolution 1244's whole lifecycle, replayed on a business clock.

A fresh data dir; the Member States; 1244 ingested; then, day by day from 27 November 2012 to
4 October 2013, the five flows run against the local inbox while scripted people act: the
Chairperson rejects the first transmittal draft with a reason and approves the corrected one,
the Director General's office approves the briefings and the statement, about 60% of Member
States send their national positions (some only after the reminder) and an officer reviews
them, officers log engagement activities and record the PGA's acknowledgement and where the
statement was used. It ends with a summary read back from the database.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum

from operative.errors import Invalid

if TYPE_CHECKING:
    from operative.models import Approval

MARKER = ".operative-demo"
GENEVA = "Europe/Zurich"
DRAFTER = "a.officer"
REVIEWER = "b.officer"
APPROVERS = {"chair": "chair", "director_general": "dg.office"}
FIRST_REJECTION = "Please cite General Assembly resolution 65/170 in the first paragraph."
SHARE_SUBMITTING = 0.6


class DemoError(Invalid):
    """The demo could not start: its data dir is not its own."""


def _fresh(data_dir: Path) -> Path:
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise DemoError(
                f"{data_dir} exists and is not a demo data dir: choose another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("created by operative demo; removed by the next demo run\n")
    return data_dir


@dataclass
class Clock:
    """The business clock the demo replays: one moment at a time, shared by every thread."""

    moment: pendulum.DateTime = field(
        default_factory=lambda: pendulum.datetime(2012, 11, 27, 9, tz=GENEVA)
    )

    def __call__(self) -> pendulum.DateTime:
        return self.moment.in_timezone("UTC")

    def set(self, day: dt.date, hour: int = 9) -> None:
        self.moment = pendulum.datetime(day.year, day.month, day.day, hour, tz=GENEVA)


class Approvers:
    """The Chairperson and the DG's office, deciding what waits for them, in a thread."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.decisions: list[tuple[int, str]] = []
        self.rejected_once = False
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._loop,), daemon=True
        )

    def __enter__(self) -> Approvers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        from operative.core.db import session_scope
        from operative.register import approvals

        while not self._stop.is_set():
            with session_scope() as session:
                waiting = [a for a in approvals.pending(session) if a.flow_run_id]
            for approval in waiting:
                self._decide(approval)
            time.sleep(0.05)

    def _decide(self, approval: Approval) -> None:
        """Reject the first transmittal letter (the officer revises it), approve the rest."""
        from flows._prefect.runtime import resume_with_decision
        from operative.core.db import session_scope
        from operative.register import approvals

        reject = approval.step == "transmittal-letter" and not self.rejected_once
        if reject:
            _revise_letter(approval.obligation_id, approval.document_id)
        approval_id = approval.id or 0
        with session_scope() as session:
            decided = approvals.decide(
                session,
                approval_id,
                username=APPROVERS[approval.role_asked],
                approve=not reject,
                reason=FIRST_REJECTION if reject else "",
            )
        self.rejected_once = self.rejected_once or reject
        self.decisions.append((approval_id, decided.approval.decision or ""))
        resume_with_decision(approval.flow_run_id or "", approval_id, decided.token)


def _revise_letter(obligation_id: int, document_id: int | None) -> None:
    """The officer's corrected letter, answering the Chairperson's comment."""
    from operative.core.db import session_scope
    from operative.models import Document
    from operative.register import records

    with session_scope() as session:
        draft = session.get(Document, document_id) if document_id else None
        if draft is None:
            return
        first, _, rest = draft.body.partition("\n\n")
        citation = (
            "The resolution responds to the invitation extended to Member States in General "
            "Assembly resolution 65/170 of 17 March 2011 to contribute to the High-level "
            "Dialogue on International Migration and Development in 2013."
        )
        records.add_record(
            session,
            obligation_id,
            kind="revision",
            text=f"{first}\n\n{citation}\n\n{rest}",
            actor=DRAFTER,
        )


def _working_day(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _reminder_run_day(deadline: dt.date) -> dt.date:
    """The day the demo runs the positions flow to send the first reminder of the campaign due
    on ``deadline``: the day after that reminder falls due by config/reminders.yaml."""
    from operative.core.clock import load_working_calendar
    from operative.reminders.policy import load_reminder_config

    first = load_reminder_config().policy("national_positions").before[0]
    return load_working_calendar().shift(deadline, -first) + dt.timedelta(days=1)


def _plan(
    states: list[str], obligations: dict[str, int], deadline: dt.date
) -> list[tuple[dt.date, int, str, Callable[[], Any]]]:
    """The timeline: (day, order within the day, what, action)."""
    from operative.core.db import session_scope
    from operative.playbooks import national_positions as positions
    from operative.register import records

    rng = random.Random(1244)
    events: list[tuple[dt.date, int, str, Callable[[], Any]]] = []

    def act(fn: Callable[..., Any], **kwargs: Any) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope() as session:
                return fn(session, **kwargs)

        return run

    # National positions: ~60% submit; a quarter of those only after the first reminder, which
    # the demo's run of the flow the next day sends.
    reminder_day = _reminder_run_day(deadline)
    submitting = sorted(rng.sample(states, round(len(states) * SHARE_SUBMITTING)))
    late = set(rng.sample(submitting, len(submitting) // 4))
    np = obligations["national_positions"]
    for code in submitting:
        if code in late:
            day = reminder_day + dt.timedelta(days=rng.randint(1, 12))
        else:
            day = dt.date(2013, 1, 7) + dt.timedelta(
                days=rng.randint(0, (reminder_day - dt.date(2013, 1, 8)).days)
            )
        text = (
            f"National position of {code} for the 2013 High-level Dialogue on International "
            "Migration and Development, reflecting Council resolution 1244."
        )
        events.append(
            (
                _working_day(day),
                1,
                f"{code} submits",
                act(
                    positions.submit,
                    obligation_id=np,
                    iso3=code,
                    text=text,
                    actor=f"mission:{code}",
                ),
            )
        )
    review_day = _working_day(deadline + dt.timedelta(days=3))
    for index, code in enumerate(submitting):
        verdict = ("reflects", "reflects", "partially", "does_not_reflect")[index % 4]
        events.append(
            (
                review_day,
                2,
                f"review {code}",
                act(
                    positions.review,
                    obligation_id=np,
                    iso3=code,
                    verdict=verdict,
                    reviewer=REVIEWER,
                ),
            )
        )

    # Engagement activities; nothing where migrants spoke from mid-January to April: a lapse.
    mp = obligations["migrant_perspectives"]
    for day, kind, title, spoke in [
        (
            dt.date(2012, 12, 10),
            "consultation",
            "Migrant associations consulted on HLD priorities",
            True,
        ),
        (dt.date(2013, 1, 15), "workshop", "Diaspora workshop, Geneva", True),
        (dt.date(2013, 2, 20), "panel", "Expert panel on migration and development", False),
        (
            dt.date(2013, 4, 25),
            "dialogue",
            "International Dialogue on Migration: migrants' voices",
            True,
        ),
        (dt.date(2013, 6, 10), "survey", "Survey of migrant workers' priorities for the HLD", True),
        (dt.date(2013, 7, 22), "side_event", "Side event with migrant-led organizations", True),
        (
            dt.date(2013, 9, 12),
            "consultation",
            "Pre-HLD consultation with migrant representatives",
            True,
        ),
    ]:
        events.append(
            (
                day,
                1,
                f"activity: {title}",
                act(
                    records.add_activity,
                    obligation_id=mp,
                    occurred_on=day,
                    kind=kind,
                    title=title,
                    migrants_spoke=spoke,
                    actor=DRAFTER,
                    evidence_url="https://www.iom.int/",
                ),
            )
        )

    pga, lead = obligations["forward_to_pga"], obligations["lead_agency_statement"]
    events.append(
        (
            dt.date(2012, 12, 6),
            1,
            "PGA acknowledges",
            act(
                records.add_record,
                obligation_id=pga,
                kind="acknowledgement",
                text="Receipt acknowledged by the Office of the President of the General Assembly",
                actor=DRAFTER,
            ),
        )
    )
    events.append(
        (
            dt.date(2013, 5, 15),
            1,
            "statement used",
            act(
                records.add_record,
                obligation_id=lead,
                kind="usage",
                text="IOM's input to the Secretary-General's report on the High-level Dialogue",
                actor=DRAFTER,
            ),
        )
    )
    events.append(
        (
            dt.date(2013, 10, 3),
            1,
            "statement used",
            act(
                records.add_record,
                obligation_id=lead,
                kind="usage",
                text="IOM statement at the High-level Dialogue plenary, New York",
                actor=DRAFTER,
            ),
        )
    )
    return events


def _flow_runs(obligations: dict[str, int], deadline: dt.date) -> list[tuple[dt.date, str]]:
    runs = [
        (dt.date(2012, 11, 28), "forward_to_pga"),
        (dt.date(2012, 11, 29), "lead_agency_statement"),
        (dt.date(2012, 12, 3), "national_positions"),
        (dt.date(2012, 12, 7), "forward_to_pga"),
        (_reminder_run_day(deadline), "national_positions"),
        (_working_day(deadline + dt.timedelta(days=1)), "national_positions"),
        (_working_day(deadline + dt.timedelta(days=4)), "national_positions"),
        (dt.date(2013, 3, 1), "migrant_perspectives"),
        (dt.date(2013, 6, 3), "migrant_perspectives"),
        (dt.date(2013, 10, 4), "migrant_perspectives"),
        (dt.date(2013, 10, 4), "lead_agency_statement"),
    ]
    month = dt.date(2012, 12, 1)
    while month < dt.date(2013, 10, 1):
        runs.append((_working_day(month), "inform_member_states"))
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    runs.append((dt.date(2013, 10, 4), "inform_member_states"))
    return [(day, playbook) for day, playbook in runs if playbook in obligations]


def run_demo(
    data_dir: Path | None = None,
    *,
    echo: Callable[[str], None] = print,
    show_table: bool = True,
) -> dict[str, Any]:
    """Run the demo; returns the summary it printed (read back from the database)."""
    started = time.monotonic()
    data_dir = _fresh(data_dir or Path(".operative-demo"))
    os.environ["OPERATIVE_DATA_DIR"] = str(data_dir)
    os.environ.pop("OPERATIVE_DATABASE_URL", None)
    from operative.core.db import dispose_engines
    from operative.core.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()

    from flows._prefect.runtime import flow_settings, prefect_api

    with prefect_api(data_dir):
        from operative.core import clock as calendar

        clock = Clock()
        with calendar.use_clock(clock):
            obligations, deadline, states = _register()
            echo(f"Registered resolution 1244 and {len(states)} Member States in {data_dir}")
            timeline = _timeline(states, obligations, deadline)
            with flow_settings(), Approvers() as approvers:
                _replay(timeline, clock, echo)
        summary = summarise(data_dir)
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["decisions"] = [
            {"approval": approval, "decision": decision}
            for approval, decision in approvers.decisions
        ]
    if show_table:
        show(summary)
    return summary


def _register() -> tuple[dict[str, int], dt.date, list[str]]:
    """1244 and the demo's people registered: the obligations by playbook, the national
    positions' deadline (in Geneva) and the active Member States."""
    from sqlmodel import col, select

    from operative.core.db import session_scope
    from operative.core.settings import REPO_ROOT
    from operative.models import MemberState, Obligation
    from operative.register import bootstrap, users
    from operative.register.ingest import ingest_file

    source = REPO_ROOT / "config" / "resolutions" / "resolution-1244.txt"
    with session_scope() as session:
        bootstrap.init(session)
        ingest_file(session, source, actor=DRAFTER)
        users.add_user(session, DRAFTER, name="Secretariat officer", roles=["officer"])
        users.add_user(session, REVIEWER, name="Reviewing officer", roles=["officer"])
        users.add_user(session, "chair", name="Chairperson of the Council", roles=["chair"])
        users.add_user(
            session, "dg.office", name="Office of the Director General", roles=["director_general"]
        )
        obligations = {o.playbook: o.id or 0 for o in session.exec(select(Obligation))}
        due = session.get(Obligation, obligations["national_positions"])
        assert due is not None and due.due_at is not None
        deadline = pendulum.instance(due.due_at).in_timezone(GENEVA).date()
        states = list(session.exec(select(MemberState.iso3).where(col(MemberState.active))))
    return obligations, deadline, states


def _timeline(
    states: list[str], obligations: dict[str, int], deadline: dt.date
) -> list[tuple[dt.date, int, str, Callable[[], Any]]]:
    """What people do and when the flows run, in the order of the days."""
    from flows import load_flow

    timeline = _plan(states, obligations, deadline)
    for day, playbook in _flow_runs(obligations, deadline):
        flow = load_flow(playbook)
        oid = obligations[playbook]
        timeline.append((day, 5, f"run {playbook}", partial(flow, oid, drafted_by=DRAFTER)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return timeline


def _replay(
    timeline: list[tuple[dt.date, int, str, Callable[[], Any]]],
    clock: Clock,
    echo: Callable[[str], None],
) -> None:
    """Each action on its day of the business clock; each flow run's outcome echoed."""
    current_month = None
    for day, _order, what, action in timeline:
        clock.set(day)
        if (day.year, day.month) != current_month:
            current_month = (day.year, day.month)
            echo(f"  {day:%B %Y}")
        outcome = action()
        if what.startswith("run "):
            echo(f"    {day.isoformat()}  {what[4:]}: {outcome}")


def summarise(data_dir: Path) -> dict[str, Any]:
    """What the register says after the demo, per paragraph and for the national positions."""
    from sqlmodel import col, func, select

    from operative.core import audit
    from operative.core.db import session_scope
    from operative.models import Approval, Delivery, Message, Obligation, Paragraph
    from operative.playbooks import national_positions as positions

    with session_scope() as session:
        rows = session.exec(
            select(Obligation, Paragraph)
            .join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
            .order_by(col(Paragraph.position))
        ).all()
        paragraphs = []
        for obligation, paragraph in rows:
            deliveries = dict(
                session.exec(
                    select(Delivery.status, func.count())
                    .join(Message, col(Delivery.message_id) == Message.id)
                    .where(Message.obligation_id == obligation.id)
                    .group_by(Delivery.status)
                ).all()
            )
            decisions = dict(
                session.exec(
                    select(Approval.decision, func.count())
                    .where(Approval.obligation_id == obligation.id)
                    .group_by(Approval.decision)
                ).all()
            )
            paragraphs.append(
                {
                    "paragraph": paragraph.num,
                    "playbook": obligation.playbook,
                    "status": str(obligation.status),
                    "progress": obligation.progress,
                    "sent": deliveries.get("sent", 0),
                    "failed": deliveries.get("failed", 0),
                    "approved": decisions.get("approved", 0),
                    "rejected": decisions.get("rejected", 0),
                }
            )
        np_id = next(o.id for o, _p in rows if o.playbook == "national_positions")
        counts = positions.summarise(session, np_id or 0)
        events, breaks = audit.verify(session)
    return {
        "data_dir": str(data_dir),
        "paragraphs": paragraphs,
        "positions": {
            "invited": counts.invited,
            "reminded": counts.reminded,
            "received": counts.received,
            "reviewed": counts.reviewed,
            "not_submitted": counts.invited - counts.received,
            "verdicts": counts.verdicts,
        },
        "audit": {"events": events, "intact": not breaks},
        "inbox": len(list((data_dir / "inbox").glob("*.json"))),
    }


def show(summary: dict[str, Any]) -> None:
    """The summary as a Rich table, and where to look next."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table("OP", title="Resolution 1244, as of 4 October 2013")
    table.add_column("Playbook", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Sent (failed)", no_wrap=True, justify="right")
    table.add_column("Approved (rej.)", no_wrap=True, justify="right")
    for row in summary["paragraphs"]:
        table.add_row(
            row["paragraph"],
            row["playbook"],
            f"{row['status']} {row['progress']}%",
            f"{row['sent']} ({row['failed']})",
            f"{row['approved']} ({row['rejected']})",
        )
    console.print(table)
    p = summary["positions"]
    verdicts = ", ".join(f"{k} {v}" for k, v in p["verdicts"].items())
    console.print(
        f"National positions: {p['invited']} invited, {p['reminded']} reminded, "
        f"{p['received']} received, {p['reviewed']} reviewed, {p['not_submitted']} not "
        f"submitted; verdicts: {verdicts}"
    )
    chain = "intact" if summary["audit"]["intact"] else "BROKEN"
    console.print(f"Audit log: {summary['audit']['events']} events, chain {chain}.")
    data_dir = summary["data_dir"]
    console.print(
        "Where to look next:\n"
        f"  the inbox ({summary['inbox']} messages): {data_dir}/inbox/\n"
        f"  the register:  OPERATIVE_DATA_DIR={data_dir} operative status\n"
        f"  the positions: OPERATIVE_DATA_DIR={data_dir} operative submissions list\n"
        f"  the letters, briefings, statement and report: table `document` of "
        f"{data_dir}/operative.db\n"
        f"  the dashboard: OPERATIVE_DATA_DIR={data_dir} operative users password chair "
        "--generate (prints a password), then\n"
        f"                 OPERATIVE_DATA_DIR={data_dir} operative serve, and sign in as chair"
    )
