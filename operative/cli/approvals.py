"""``operative approvals`` and ``operative approve``: what waits for a person's decision, and
the decision itself, handed to the run waiting for it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from operative.cli._common import JsonOption, console, local, open_session, print_json

app = typer.Typer()


@app.command("approvals")
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

    with open_session() as session:
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
        print_json(data)
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
            local(a.requested_at),
        )
    console().print(table if rows else "No approval is waiting.")


def _show_approval(approval_id: int, as_json: bool) -> None:
    from sqlmodel import col, select

    from operative.models import Approval, Document
    from operative.register.approvals import get

    with open_session() as session:
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
        print_json(data)
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


@app.command()
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
    from operative.orchestration import decide_and_resume

    with open_session() as session:
        resumed = decide_and_resume(
            session,
            approval,
            username=actor,
            approve=not reject,
            reason=reason,
            data_dir=get_settings().data_dir,
        )
    typer.echo(f"Approval {approval} {resumed.approval.decision} by {actor}.")
    typer.echo(resumed.outcome[0].upper() + resumed.outcome[1:] + ".")
