"""Commands for the work itself: running playbooks, approvals, users, submissions, records.

Registered on the main app by :func:`register`. Only ``run``, ``approve`` (to resume a waiting
run) and ``demo`` load Prefect, and only once their input has been checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from operative.cli import (
    CONSOLE_ACTOR,
    JsonOption,
    UsageProblem,
    _console,
    _local,
    _print_json,
    _session,
    fail,
    handled,
    require_acting,
    require_officer,
)

users_app = typer.Typer(help="People who approve, review and sign in.", no_args_is_help=True)
submissions_app = typer.Typer(help="Member States' national positions.", no_args_is_help=True)
activities_app = typer.Typer(
    help="Engagement activities (migrants' perspectives).", no_args_is_help=True
)
records_app = typer.Typer(help="Facts recorded against an obligation.", no_args_is_help=True)

AsUser = Annotated[str, typer.Option("--as", help="The user acting (checked against roles).")]


def _obligation_for(
    session: Any, playbook: str, resolution: int | None, obligation: int | None
) -> list[int]:
    from sqlmodel import col, select

    from flows import PLAYBOOK_FLOWS
    from operative.models import Obligation, Paragraph, Resolution

    if playbook not in PLAYBOOK_FLOWS:
        raise UsageProblem(f"unknown playbook {playbook!r} (known: {', '.join(PLAYBOOK_FLOWS)})")
    if resolution is not None and session.get(Resolution, resolution) is None:
        raise UsageProblem(f"no resolution with id {resolution}")
    query = select(Obligation).join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
    if resolution is not None:
        query = query.where(Paragraph.resolution_id == resolution)
    if obligation is not None:
        found = session.get(Obligation, obligation)
        if found is None:
            raise UsageProblem(f"no obligation with id {obligation}")
        rows = session.exec(query.where(Obligation.id == obligation)).all()
        if not rows:
            raise UsageProblem(f"obligation {obligation} is not part of resolution {resolution}")
        if found.playbook != playbook:
            raise UsageProblem(f"obligation {obligation} follows {found.playbook}, not {playbook}")
        return [obligation]
    rows = session.exec(
        query.where(Obligation.playbook == playbook).order_by(col(Obligation.id))
    ).all()
    if not rows:
        raise UsageProblem(f"resolution {resolution} has no obligation following {playbook}")
    return [row.id for row in rows]


def run(
    playbook: Annotated[str, typer.Argument(help="The playbook to run.")],
    resolution: Annotated[int, typer.Option("--resolution", help="The resolution's id.")],
    actor: Annotated[
        str, typer.Option("--as", help="The officer running it: the drafter, for four-eyes.")
    ],
    obligation: Annotated[
        int | None, typer.Option("--obligation", help="Only this obligation.")
    ] = None,
) -> None:
    """Run a playbook's flow for a resolution's obligations (waits where a person must decide)."""
    from operative.core.settings import get_settings

    with _session() as session:
        targets = _obligation_for(session, playbook, resolution, obligation)
        # The runner drafts what is approved: it must be a known person, or four-eyes is void.
        require_officer(session, actor, "run playbooks")
    from flows._prefect.runtime import ServerUnavailable, flow_settings, prefect_api

    try:
        with prefect_api(get_settings().data_dir):
            from flows import load_flow

            flow = load_flow(playbook)
            with flow_settings():
                for target in targets:
                    outcome = flow(target, drafted_by=actor)
                    typer.echo(f"{playbook} for obligation {target}: {outcome}")
    except ServerUnavailable as exc:
        fail(str(exc), code=1)


def status(as_json: JsonOption = False) -> None:
    """Every obligation's state, pending approvals and deliveries."""
    from sqlmodel import col, func, select

    from operative.models import Delivery, Message, Obligation, Paragraph, Resolution
    from operative.register.approvals import pending
    from operative.register.obligations import is_overdue

    with _session() as session:
        rows = session.exec(
            select(Obligation, Paragraph, Resolution)
            .join(Paragraph, col(Obligation.paragraph_id) == Paragraph.id)
            .join(Resolution, col(Paragraph.resolution_id) == Resolution.id)
            .order_by(col(Resolution.id), col(Paragraph.position))
        ).all()
        waiting = pending(session)
        counts: dict[tuple[int, str], int] = {}
        for obligation_id, state, count in session.exec(
            select(Message.obligation_id, Delivery.status, func.count())
            .join(Message, col(Delivery.message_id) == Message.id)
            .group_by(col(Message.obligation_id), col(Delivery.status))
        ):
            if obligation_id is not None:
                counts[(obligation_id, state)] = count
    data: list[dict[str, Any]] = [
        {
            "id": o.id,
            "resolution": f"{r.body} {r.number}",
            "paragraph": p.num,
            "playbook": o.playbook,
            "status": str(o.status),
            "progress": o.progress,
            "due_at": o.due_at.isoformat().replace("+00:00", "Z") if o.due_at else None,
            "overdue": is_overdue(o),
            "last_flow_run_id": o.last_flow_run_id,
            "deliveries": {s: counts.get((o.id or 0, s), 0) for s in ("sent", "failed", "pending")},
            "pending_approvals": [a.id for a in waiting if a.obligation_id == o.id],
        }
        for o, p, r in rows
    ]
    if as_json:
        _print_json(data)
        return
    from rich.table import Table

    table = Table()
    table.add_column("ID", no_wrap=True, min_width=2)
    table.add_column("OP", no_wrap=True)
    table.add_column("Playbook", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Due", no_wrap=True)
    table.add_column("Sent", no_wrap=True, justify="right")
    table.add_column("Waits for")
    for item, (o, _p, _r) in zip(data, rows, strict=True):
        status = f"{item['status']} {item['progress']}%"
        if item["overdue"]:
            status = f"[red]{status}, late[/red]"
        table.add_row(
            str(item["id"]),
            item["paragraph"],
            item["playbook"],
            status,
            _local(o.due_at)[:10],
            str(item["deliveries"]["sent"])
            + (f" ({item['deliveries']['failed']} failed)" if item["deliveries"]["failed"] else ""),
            ", ".join(f"approval {a}" for a in item["pending_approvals"]) or "—",
        )
    _console().print(table if data else "No obligations yet: try `operative ingest FILE`.")


def approvals_list(
    as_json: JsonOption = False,
    show: Annotated[
        int | None, typer.Option("--show", help="Show one approval: the draft and its history.")
    ] = None,
) -> None:
    """Approvals waiting for a decision (or, with --show, one approval and its draft)."""
    from operative.register.approvals import pending

    if show is not None:
        _show_approval(show, as_json)
        return

    with _session() as session:
        rows = pending(session)
    data = [
        {
            "id": a.id,
            "obligation": a.obligation_id,
            "step": a.step,
            "cycle": a.cycle,
            "attempt": a.attempt,
            "role": a.role_asked,
            "drafted_by": a.drafted_by,
            "requested_at": a.requested_at.isoformat(),
            "escalated": a.escalated_at is not None,
        }
        for a in rows
    ]
    if as_json:
        _print_json(data)
        return
    from rich.table import Table

    table = Table()
    table.add_column("ID", no_wrap=True, min_width=2)
    table.add_column("Obligation", no_wrap=True)
    for column in ("Step", "Role", "Drafted by", "Requested (Geneva)"):
        table.add_column(column, no_wrap=True)
    for a in rows:
        table.add_row(
            str(a.id),
            str(a.obligation_id),
            f"{a.step} #{a.attempt}",
            a.role_asked,
            a.drafted_by or "—",
            _local(a.requested_at),
        )
    _console().print(table if rows else "No approval is waiting.")


def _show_approval(approval_id: int, as_json: bool) -> None:
    from sqlmodel import col, select

    from operative.models import Approval, Document
    from operative.register.approvals import get

    with _session() as session:
        approval = get(session, approval_id)
        document = session.get(Document, approval.document_id) if approval.document_id else None
        history = session.exec(
            select(Approval)
            .where(
                Approval.obligation_id == approval.obligation_id,
                Approval.step == approval.step,
                Approval.cycle == approval.cycle,
            )
            .order_by(col(Approval.attempt))
        ).all()
    data: dict[str, Any] = {
        "id": approval.id,
        "obligation": approval.obligation_id,
        "step": approval.step,
        "cycle": approval.cycle,
        "attempt": approval.attempt,
        "role": approval.role_asked,
        "drafted_by": approval.drafted_by,
        "decision": approval.decision,
        "document": {"title": document.title, "body": document.body, "note": document.note}
        if document
        else None,
        "history": [
            {"attempt": a.attempt, "decision": a.decision, "by": a.decided_by, "reason": a.reason}
            for a in history
        ],
    }
    if as_json:
        _print_json(data)
        return
    decision = approval.decision or "pending"
    typer.echo(
        f"Approval {approval.id}: {approval.step} (cycle {approval.cycle}, "
        f"draft {approval.attempt}) for obligation {approval.obligation_id}; "
        f"asks {approval.role_asked}; drafted by {approval.drafted_by}; {decision}"
    )
    for earlier in data["history"]:
        if earlier["decision"] == "rejected":
            typer.echo(
                f"  draft {earlier['attempt']} rejected by {earlier['by']}: {earlier['reason']}"
            )
    if document:
        typer.echo(f"\n{document.title}\n\n{document.body}")
    if approval.decision is None:
        typer.echo(f"\nDecide: operative approve {approval.id} --as USER [--reject --reason TEXT]")


def approve(
    approval: Annotated[int, typer.Argument(help="The approval's id (see `operative approvals`).")],
    actor: Annotated[
        str, typer.Option("--as", help="Who decides (role and four-eyes are checked).")
    ],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approving.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (required to reject).")] = "",
) -> None:
    """Approve (or reject with a reason) and resume the run waiting for it."""
    from operative.core.settings import get_settings
    from operative.register.approvals import decide

    with _session() as session:
        decided = decide(session, approval, username=actor, approve=not reject, reason=reason)
        session.commit()
        run_id = decided.approval.flow_run_id
    typer.echo(f"Approval {approval} {decided.approval.decision} by {actor}.")
    from flows._prefect.runtime import deliver_decision

    outcome = deliver_decision(get_settings().data_dir, run_id, approval, decided.token)
    typer.echo(outcome[0].upper() + outcome[1:] + ".")


@users_app.command("add")
@handled
def users_add(
    username: Annotated[str, typer.Argument(help="Login name, e.g. jdoe.")],
    role: Annotated[list[str], typer.Option("--role", help="A role (repeatable).")],
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password (web sign-in).")
    ] = False,
) -> None:
    """Create a user, or update one's name and roles."""
    from operative.register.users import add_user

    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with _session() as session:
        user = add_user(session, username, name=name, roles=role, password=secret)
        session.commit()
        typer.echo(f"User {user.username}: {', '.join(user.roles)}.")


@users_app.command("list")
@handled
def users_list(as_json: JsonOption = False) -> None:
    """List users and their roles."""
    from operative.register.users import list_users

    with _session() as session:
        rows = list_users(session)
    data = [
        {"username": u.username, "name": u.name, "roles": u.roles, "active": u.active} for u in rows
    ]
    if as_json:
        _print_json(data)
        return
    for user in rows:
        typer.echo(f"{user.username:<16} {', '.join(user.roles):<30} {user.name}")


def _national_positions_obligation(session: Any, obligation: int | None) -> int:
    """The campaign ``--obligation`` names, else the one the positions page shows first."""
    from operative.playbooks import national_positions as positions

    return positions.campaign(session, obligation)


@submissions_app.command("add")
@handled
def submissions_add(
    iso3: Annotated[str, typer.Argument(help="The Member State (ISO alpha-3).")],
    file: Annotated[Path, typer.Argument(help="The national position: a text or document file.")],
    obligation: Annotated[
        int | None, typer.Option(help="The national-positions obligation.")
    ] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record a Member State's national position received by the secretariat."""
    from operative.playbooks.national_positions import submit

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"{file}: cannot read: {exc.strerror}") from None
    text = None
    if file.suffix.lower() in {".txt", ".md"}:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageProblem(f"{file}: not UTF-8 text") from None
    with _session() as session:
        require_acting(session, actor, "record national positions")
        target = _national_positions_obligation(session, obligation)
        row = submit(session, target, iso3, text=text, attachment=(file.name, data), actor=actor)
        session.commit()
        typer.echo(f"National position of {row.member_state_iso3} recorded (submission {row.id}).")


@submissions_app.command("review")
@handled
def submissions_review(
    iso3: Annotated[str, typer.Argument(help="The Member State (ISO alpha-3).")],
    verdict: Annotated[str, typer.Argument(help="reflects, partially or does_not_reflect.")],
    obligation: Annotated[
        int | None, typer.Option(help="The national-positions obligation.")
    ] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record whether a national position reflects the resolution."""
    from operative.playbooks.national_positions import review

    with _session() as session:
        require_officer(session, actor, "review submissions")
        target = _national_positions_obligation(session, obligation)
        row = review(session, target, iso3, verdict=verdict, reviewer=actor)
        session.commit()
        typer.echo(f"{row.member_state_iso3}: {row.verdict}.")


@submissions_app.command("list")
@handled
def submissions_list(
    as_json: JsonOption = False,
    obligation: Annotated[
        int | None, typer.Option(help="The national-positions obligation.")
    ] = None,
) -> None:
    """National positions: invited, reminded, received, reviewed."""
    from sqlmodel import col, select

    from operative.models import Submission

    with _session() as session:
        target = _national_positions_obligation(session, obligation)
        rows = session.exec(
            select(Submission)
            .where(Submission.obligation_id == target)
            .order_by(col(Submission.member_state_iso3))
        ).all()
    data = [
        {
            "state": r.member_state_iso3,
            "invited_at": r.invited_at.isoformat() if r.invited_at else None,
            "reminded_at": r.reminded_at.isoformat() if r.reminded_at else None,
            "received_at": r.received_at.isoformat() if r.received_at else None,
            "verdict": r.verdict,
        }
        for r in rows
    ]
    if as_json:
        _print_json(data)
        return
    received = sum(1 for r in rows if r.received_at)
    typer.echo(
        f"{len(rows)} invited, {received} received, {sum(1 for r in rows if r.verdict)} reviewed"
    )
    for item in data:
        if item["received_at"]:
            verdict = item["verdict"] or "not reviewed"
            typer.echo(f"  {item['state']}  received {item['received_at'][:10]}  {verdict}")


@activities_app.command("add")
@handled
def activities_add(
    obligation: Annotated[int, typer.Argument(help="The migrants' perspectives obligation.")],
    title: Annotated[str, typer.Argument(help="What took place.")],
    on: Annotated[str, typer.Option("--on", help="Its date, YYYY-MM-DD.")],
    kind: Annotated[
        str,
        typer.Option(
            help="consultation, dialogue, panel, side_event, survey, workshop, publication, other."
        ),
    ] = "other",
    migrants_spoke: Annotated[
        bool,
        typer.Option(
            "--migrants-spoke/--no-migrants-spoke", help="Whether migrants themselves spoke."
        ),
    ] = False,
    evidence: Annotated[
        str | None, typer.Option(help="A link to evidence (minutes, recording).")
    ] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Log an engagement activity."""
    from operative.register.ingest import parse_date
    from operative.register.records import add_activity

    day = parse_date(on, "--on")
    with _session() as session:
        require_acting(session, actor, "log activities")
        row = add_activity(
            session,
            obligation,
            occurred_on=day,
            kind=kind,
            title=title,
            migrants_spoke=migrants_spoke,
            actor=actor,
            evidence_url=evidence,
        )
        session.commit()
        typer.echo(f"Activity {row.id} recorded for {day.isoformat()}.")


@records_app.command("add")
@handled
def records_add(
    obligation: Annotated[int, typer.Argument(help="The obligation's id.")],
    kind: Annotated[
        str, typer.Argument(help="acknowledgement, usage, affirmation, evidence or note.")
    ],
    text: Annotated[str, typer.Argument(help="What happened.")],
    reference: Annotated[str | None, typer.Option(help="A reference or link.")] = None,
    actor: AsUser = CONSOLE_ACTOR,
) -> None:
    """Record a fact: the PGA's acknowledgement, a use of the statement, evidence of work done."""
    from operative.register.records import add_record

    with _session() as session:
        require_acting(session, actor, "record facts")
        row = add_record(
            session, obligation, kind=kind, text=text, actor=actor, reference=reference
        )
        session.commit()
        typer.echo(f"Record {row.id} ({kind}) added to obligation {obligation}.")


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where to put the demo's data (default: a fresh ./.operative-demo)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final summary as JSON (progress to stderr).")
    ] = False,
) -> None:
    """Replay resolution 1244 from 27 November 2012 to 4 October 2013, end to end."""
    from flows._prefect.demo import DemoError, run_demo

    echo = (lambda line: typer.echo(line, err=True)) if as_json else typer.echo
    try:
        summary = run_demo(data_dir, echo=echo, show_table=not as_json)
    except DemoError as exc:
        raise UsageProblem(str(exc)) from None
    if as_json:
        _print_json(summary)


def calendar_export(
    ics: Annotated[Path, typer.Option("--ics", help="Write the deadlines as an iCalendar file.")],
) -> None:
    """Export every open deadline as an iCalendar (.ics) file."""
    from operative.reporting.ics import deadlines_ics

    with _session() as session:
        data = deadlines_ics(session)
    try:
        ics.write_bytes(data)
    except OSError as exc:
        raise UsageProblem(f"{ics}: cannot write: {exc.strerror}") from None
    typer.echo(f"Wrote {ics} ({data.count(b'BEGIN:VEVENT')} deadlines).")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command()(handled(run))
    app.command()(handled(status))
    app.command("approvals")(handled(approvals_list))
    app.command()(handled(approve))
    app.command()(handled(demo))
    app.command("calendar")(handled(calendar_export))
    app.add_typer(users_app, name="users")
    app.add_typer(submissions_app, name="submissions")
    app.add_typer(activities_app, name="activities")
    app.add_typer(records_app, name="records")
