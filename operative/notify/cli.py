"""The notification commands: ``operative notify …``, ``operative deliveries …``, ``inbox``.

Registered on the main app by :func:`register`. Only Typer is imported here; everything else
loads inside the commands, so ``operative --help`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

P = ParamSpec("P")
R = TypeVar("R")

notify_app = typer.Typer(
    help="Channels and the outbox: test a channel, send what is due.", no_args_is_help=True
)
deliveries_app = typer.Typer(help="The outbox's deliveries: list them, retry a failed one.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]


def _handled(func: Callable[P, R]) -> Callable[P, R]:
    """operative.cli's error handling, looked up when the command runs (no import cycle)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from operative.cli import handled

        return handled(func)(*args, **kwargs)

    return wrapper


def _print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _local(value: Any) -> str:
    from operative.cli import _local as shown

    return shown(value)


@notify_app.command("test")
@_handled
def notify_test(
    target: Annotated[str, typer.Argument(help="A tag of config/apprise.yml, or an Apprise URL.")],
    as_json: JsonOption = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each channel.")] = 30.0,
) -> None:
    """Send a test notice to TARGET and print each channel's (masked) result."""
    from operative.notify.dispatch import send_test

    results = send_test(target, timeout=timeout)
    if as_json:
        _print_json([r.__dict__ for r in results])
    else:
        for result in results:
            verdict = "sent" if result.ok else f"FAILED: {result.error}"
            typer.echo(f"{result.channel:<6} {result.target}  {verdict}")
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@notify_app.command("dispatch")
@_handled
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
        _print_json(report.as_dict())
        return
    typer.echo(
        f"Sent {report.sent}, failed {report.failed} (escalated {report.escalated}), "
        f"retry later {report.retried_later}, reconciled {report.reconciled}; "
        f"{report.pending} pending; {report.seconds} s."
    )


@deliveries_app.callback(invoke_without_command=True)
@_handled
def deliveries(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed deliveries.")] = False,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 100,
) -> None:
    """List the outbox's deliveries, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from operative.cli import _console, _session
    from operative.notify.outbox import list_deliveries

    with _session() as session:
        rows = list_deliveries(session, failed_only=failed, limit=limit)
    if as_json:
        _print_json(rows)
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
            _local(row["sent_at"]),
            row["last_error"] or "",
        )
    _console().print(table)


@deliveries_app.command("retry")
@_handled
def deliveries_retry(
    delivery: Annotated[int, typer.Argument(help="The failed delivery's id.")],
    send: Annotated[bool, typer.Option(help="Send it now (--no-send: leave it due).")] = True,
) -> None:
    """Give a failed delivery new attempts, and send it now."""
    from operative.cli import _session
    from operative.notify.dispatch import dispatch_pending
    from operative.notify.outbox import retry

    with _session() as session:
        retry(session, delivery)
        session.commit()
    if not send:
        typer.echo(f"Delivery {delivery} is pending again.")
        return
    report = dispatch_pending(only=[delivery])
    if report.sent:
        typer.echo(f"Delivery {delivery} sent.")
        return
    with _session() as session:
        from operative.models import Delivery

        row = session.get(Delivery, delivery)
        state = f"{row.status}: {row.last_error}" if row else "gone"
    typer.echo(f"Delivery {delivery} not sent ({state}).", err=True)
    raise typer.Exit(1)


@_handled
def inbox(as_json: JsonOption = False) -> None:
    """List what arrived in the local inbox (the inbox:// channel)."""
    from operative.notify.inbox import list_inbox

    messages = list_inbox()
    if as_json:
        _print_json(messages)
        return
    if not messages:
        typer.echo("The local inbox is empty.")
        return
    from rich.table import Table

    from operative.cli import _console

    table = Table("Received", "To", "Subject", "Attachments", title=f"{len(messages)} messages")
    for item in messages:
        table.add_row(
            _local(_parse_time(item.get("received_at"))),
            str(item.get("recipient") or "—"),
            str(item.get("title") or ""),
            str(len(item.get("attachments") or [])),
        )
    _console().print(table)


def _parse_time(value: Any) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def register(app: typer.Typer) -> None:
    """Add the notification commands to the ``operative`` app."""
    app.add_typer(notify_app, name="notify")
    app.add_typer(deliveries_app, name="deliveries")
    app.command("inbox")(inbox)
