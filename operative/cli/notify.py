"""The notification commands: ``operative notify …``, ``operative deliveries …``, ``inbox``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from operative.cli._common import JsonOption, console, local, open_session, print_json

app = typer.Typer()
notify_app = typer.Typer(
    help="Channels and the outbox: test a channel, send what is due.", no_args_is_help=True
)
deliveries_app = typer.Typer(help="The outbox's deliveries: list them, retry a failed one.")
app.add_typer(notify_app, name="notify")
app.add_typer(deliveries_app, name="deliveries")


@notify_app.command("test")
def notify_test(
    target: Annotated[str, typer.Argument(help="A tag of config/apprise.yml, or an Apprise URL.")],
    as_json: JsonOption = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each channel.")] = 30.0,
) -> None:
    """Send a test notice to TARGET and print each channel's (masked) result."""
    from operative.notify.dispatch import send_test

    results = send_test(target, timeout=timeout)
    if as_json:
        print_json([r.__dict__ for r in results])
    else:
        for result in results:
            verdict = "sent" if result.ok else f"FAILED: {result.error}"
            typer.echo(f"{result.channel:<6} {result.target}  {verdict}")
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@notify_app.command("dispatch")
def notify_dispatch(
    as_json: JsonOption = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Sends at once.")] = 8,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to keep waiting for retries falling due.")
    ] = 0.0,
) -> None:
    """Send every due delivery in the outbox, once."""
    from operative.notify.dispatch import DispatchPolicy, dispatch_pending

    report = dispatch_pending(policy=DispatchPolicy(concurrency=concurrency, wait_for_retries=wait))
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(
        f"Sent {report.sent}, failed {report.failed} (escalated {report.escalated}), "
        f"retry later {report.retried_later}, reconciled {report.reconciled}; "
        f"{report.pending} pending; {report.seconds} s."
    )


@deliveries_app.callback(invoke_without_command=True)
def deliveries(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed deliveries.")] = False,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 100,
) -> None:
    """List the outbox's deliveries, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from operative.notify.outbox import list_deliveries

    with open_session() as session:
        rows = list_deliveries(session, failed_only=failed, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("No failed deliveries." if failed else "The outbox is empty.")
        return
    from rich.table import Table

    table = Table("ID", "Message", "To", "Channel", "Lang", "Status", "Tries", "Sent", "Last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["message"],
            row["recipient"],
            row["channel"],
            row["language"],
            row["status"],
            str(row["attempts"]),
            local(row["sent_at"]),
            row["last_error"] or "",
        )
    console().print(table)


@deliveries_app.command("retry")
def deliveries_retry(
    delivery: Annotated[int, typer.Argument(help="The failed delivery's id.")],
    send: Annotated[bool, typer.Option(help="Send it now (--no-send: leave it due).")] = True,
) -> None:
    """Give a failed delivery new attempts, and send it now."""
    from operative.models import Delivery
    from operative.notify.dispatch import dispatch_pending
    from operative.notify.outbox import retry

    with open_session() as session:
        retry(session, delivery)
        session.commit()
    if not send:
        typer.echo(f"Delivery {delivery} is pending again.")
        return
    report = dispatch_pending(only=[delivery])
    if report.sent:
        typer.echo(f"Delivery {delivery} sent.")
        return
    with open_session() as session:
        row = session.get(Delivery, delivery)
        state = f"{row.status}: {row.last_error}" if row else "gone"
    typer.echo(f"Delivery {delivery} not sent ({state}).", err=True)
    raise typer.Exit(1)


@app.command("inbox")
def inbox(as_json: JsonOption = False) -> None:
    """List what arrived in the local inbox (the inbox:// channel)."""
    from operative.notify.inbox import list_inbox

    messages = list_inbox()
    if as_json:
        print_json(messages)
        return
    if not messages:
        typer.echo("The local inbox is empty.")
        return
    from rich.table import Table

    table = Table("Received", "To", "Subject", "Attachments", title=f"{len(messages)} messages")
    for item in messages:
        table.add_row(
            local(_parse_time(item.get("received_at"))),
            str(item.get("recipient") or "—"),
            str(item.get("title") or ""),
            str(len(item.get("attachments") or [])),
        )
    console().print(table)


def _parse_time(value: Any) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
