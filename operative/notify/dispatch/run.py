"""One dispatch: reconcile, then claim, send and record until nothing is due."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from operative.core import audit
from operative.core.db import get_engine
from operative.notify.channels import ChannelConfig, load_channels
from operative.notify.dispatch.claim import (
    Claim,
    claim_due,
    count_pending,
    dispatcher_id,
    reconcile,
    seconds_until_next_due,
)
from operative.notify.dispatch.policy import DispatchPolicy, DispatchReport
from operative.notify.dispatch.record import ResultWriter
from operative.notify.dispatch.send import send
from operative.notify.masking import install_log_redaction
from operative.notify.templates import Renderer


async def _pump(
    engine: Engine,
    me: str,
    channels: ChannelConfig,
    policy: DispatchPolicy,
    selected: Sequence[int] | None,
    writer: ResultWriter,
) -> None:
    """Send everything due now: ``concurrency`` workers fed by a claimer that stays ahead.

    The claimer takes the next batch while the workers still have sends in hand, so the
    pipeline never drains at a batch boundary, and claims stay a small window ahead of the
    sends (a crash strands at most about ``claim_size + concurrency`` claims).
    """
    work: deque[Claim] = deque()
    ready = asyncio.Condition()
    exhausted = False

    async def claimer() -> None:
        nonlocal exhausted
        try:
            while True:
                async with ready:
                    await ready.wait_for(lambda: len(work) < policy.concurrency)
                claims = await asyncio.to_thread(
                    claim_due, engine, me=me, limit=policy.claim_size, only=selected
                )
                async with ready:
                    work.extend(claims)
                    exhausted = not claims
                    ready.notify_all()
                if not claims:
                    return
        finally:
            async with ready:
                exhausted = True
                ready.notify_all()

    async def worker() -> None:
        while True:
            async with ready:
                await ready.wait_for(lambda: bool(work) or exhausted)
                if not work:
                    return
                claim = work.popleft()
                ready.notify_all()
            writer.put(await send(claim, channels, policy))

    await asyncio.gather(claimer(), *(worker() for _ in range(policy.concurrency)))


async def dispatch_pending_async(
    *,
    database_url: str | None = None,
    channels: ChannelConfig | None = None,
    policy: DispatchPolicy | None = None,
    only: Iterable[int] | None = None,
    renderer: Renderer | None = None,
) -> DispatchReport:
    """Send every due delivery (or only those with the given ids); see the module docstring."""
    install_log_redaction()
    started = time.monotonic()
    engine = get_engine(database_url)
    channels = channels or load_channels()
    policy = policy or DispatchPolicy()
    selected = None if only is None else sorted(set(only))
    me = dispatcher_id()
    report = DispatchReport()
    report.reconciled = await asyncio.to_thread(reconcile, engine, me=me, lease=policy.lease)
    writer = ResultWriter(
        engine, me=me, channels=channels, renderer=renderer, policy=policy, report=report
    )
    try:
        await _send_until_done(engine, me, channels, policy, selected, writer, started)
    finally:
        await asyncio.to_thread(writer.close)
    report.pending = await asyncio.to_thread(count_pending, engine, selected)
    report.seconds = round(time.monotonic() - started, 3)
    if report.sent or report.failed or report.reconciled:
        with Session(engine) as session:
            audit.append(
                session,
                actor="dispatcher",
                kind="deliveries.dispatched",
                subject="outbox",
                payload={**report.as_dict(), "dispatcher": me},
            )
            session.commit()
    return report


async def _send_until_done(
    engine: Engine,
    me: str,
    channels: ChannelConfig,
    policy: DispatchPolicy,
    selected: Sequence[int] | None,
    writer: ResultWriter,
    started: float,
) -> None:
    """Rounds of :func:`_pump` while something is due, or falls due within the policy's
    ``wait_for_retries`` of ``started``."""
    while True:
        await _pump(engine, me, channels, policy, selected, writer)
        await asyncio.to_thread(writer.flush)
        wait = await asyncio.to_thread(seconds_until_next_due, engine, selected)
        elapsed = time.monotonic() - started
        if wait is None or (wait > 0 and elapsed + wait > policy.wait_for_retries):
            return
        # Due now (an escalation just enqueued, say), or soon enough: go round again.
        if wait > 0:
            await asyncio.sleep(wait)


def dispatch_pending(
    *,
    database_url: str | None = None,
    channels: ChannelConfig | None = None,
    policy: DispatchPolicy | None = None,
    only: Iterable[int] | None = None,
    renderer: Renderer | None = None,
) -> DispatchReport:
    """Synchronous :func:`dispatch_pending_async` (for the CLI and Prefect tasks)."""
    return asyncio.run(
        dispatch_pending_async(
            database_url=database_url,
            channels=channels,
            policy=policy,
            only=only,
            renderer=renderer,
        )
    )
