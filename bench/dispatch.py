"""The ``dispatch`` scenario: 175 Member States x 2 channels through the outbox.

Two local sinks (json:// and form://, each its own process) answer every request after 20 ms.
The outbox run is :func:`operative.notify.dispatch.dispatch_pending` over 350 enqueued
deliveries: claiming, one Apprise service per delivery with its Idempotency-Key header,
``async_notify`` with bounded concurrency, recording every result. The baseline makes the same
350 sends (same URLs, headers, titles and bodies, same concurrency) as a bare loop of
``Apprise.async_notify`` calls over Apprise objects built before the clock starts. Enqueueing
(rendering 175 notices in three languages) is timed apart. The serial time (one send after
another with ``Apprise.notify``) is reported for scale.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.results import environment, result

CONCURRENCY = 8
SINK_DELAY = 0.02
ROUNDS = 3
REPO = Path(__file__).resolve().parents[1]


def serve(port: int, delay: float) -> None:
    """A sink: read the request, wait ``delay`` seconds, answer 200 (runs in its own process)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", f"from bench.dispatch import serve; serve({port}, {SINK_DELAY})"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the bench sink did not start") from None
            time.sleep(0.05)


def _bare(sends: list[tuple[str, str, str]], timeout: float) -> float:
    from apprise import Apprise, NotifyFormat

    prepared = []
    for url, title, body in sends:
        apprise = Apprise()
        apprise.add(url)
        prepared.append((apprise, title, body))

    async def run() -> None:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(apprise: Apprise, title: str, body: str) -> None:
            async with gate:
                result = await apprise.async_notify(
                    body=body, title=title, body_format=NotifyFormat.TEXT, timeout=timeout
                )
                if not result:
                    raise RuntimeError("a baseline send failed")
                result.close()

        await asyncio.gather(*(one(*item) for item in prepared))

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def _serial(sends: list[tuple[str, str, str]]) -> float:
    from apprise import Apprise, NotifyFormat

    prepared = []
    for url, title, body in sends:
        apprise = Apprise()
        apprise.add(url)
        prepared.append((apprise, title, body))
    start = time.perf_counter()
    for apprise, title, body in prepared:
        if not apprise.notify(body=body, title=title, body_format=NotifyFormat.TEXT):
            raise RuntimeError("a serial send failed")
    return time.perf_counter() - start


def run() -> list[dict[str, Any]]:
    """Measure the outbox against the bare loop; see the module docstring."""
    sinks = [_start_sink(), _start_sink()]
    scratch = environment(
        OPERATIVE_DATA_DIR=None, OPERATIVE_DATABASE_URL=None, OPERATIVE_APPRISE_CONFIG=None
    )
    try:
        with scratch, tempfile.TemporaryDirectory(prefix="operative-bench-") as folder:
            return _measure(Path(folder), [port for _process, port in sinks], result)
    finally:
        for process, _port in sinks:
            process.kill()
            process.wait()


def _measure(folder: Path, ports: list[int], result: Any) -> list[dict[str, Any]]:
    import csv
    import datetime as dt

    from sqlmodel import Session, select

    from operative.core.db import dispose_engines, get_engine
    from operative.core.settings import get_settings
    from operative.models import Delivery, Message
    from operative.notify.channels import IDEMPOTENCY_HEADER
    from operative.notify.dispatch import DispatchPolicy, dispatch_pending
    from operative.notify.outbox import enqueue
    from operative.notify.recipients import member_state_recipients
    from operative.register.bootstrap import load_member_states

    os.environ["OPERATIVE_DATA_DIR"] = str(folder / "data")
    os.environ["OPERATIVE_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    config = folder / "apprise.yml"
    os.environ["OPERATIVE_APPRISE_CONFIG"] = str(config)
    get_settings.cache_clear()
    dispose_engines()
    with (get_settings().config_dir / "member_states.csv").open(encoding="utf-8") as handle:
        tags = ", ".join(row["iso3"] for row in csv.DictReader(handle))
    urls = {
        "json": f"json://127.0.0.1:{ports[0]}/hook",
        "form": f"form://127.0.0.1:{ports[1]}/hook",
    }
    config.write_text(
        "version: 1\nurls:\n"
        + "".join(f"  - {url}:\n      tag: {tags}\n" for url in urls.values()),
        encoding="utf-8",
    )
    engine = get_engine()
    with Session(engine) as session:
        load_member_states(session, get_settings().config_dir / "member_states.csv")
        session.commit()
    context = {
        "resolution": {
            "number": "1244 (CI)",
            "title": "IOM and the United Nations High-level Dialogue",
        },
        "paragraph": "4",
        "deadline": dt.datetime(2013, 8, 9, 16, 0, tzinfo=dt.UTC),
        "link": "https://operative.example.org/positions/token",
    }
    policy = DispatchPolicy(concurrency=CONCURRENCY)
    outbox, bare, enqueue_times = [], [], []
    for round_number in range(ROUNDS):
        start = time.perf_counter()
        with Session(engine) as session:
            enqueue(
                session,
                key=f"bench:{round_number}",
                kind="invitation",
                recipients=member_state_recipients(session),
                context=context,
            )
            session.commit()
        enqueue_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = dispatch_pending(policy=policy)
        outbox.append(time.perf_counter() - start)
        if report.sent != 350:
            raise RuntimeError(f"the outbox sent {report.sent} of 350")
        with Session(engine) as session:
            rows = session.exec(
                select(Delivery).join(Message).where(Message.key == f"bench:{round_number}")
            ).all()
        sends = [
            (
                f"{urls[row.channel]}?+{IDEMPOTENCY_HEADER}=bare-{row.idempotency_key}",
                row.title,
                row.body,
            )
            for row in rows
        ]
        bare.append(_bare(sends, policy.send_timeout))
    serial = _serial(sends)
    dispose_engines()
    value, baseline = statistics.median(outbox), statistics.median(bare)
    ratio = value / baseline
    return [
        result(
            "dispatch",
            "outbox_350_sends",
            value,
            "s",
            baseline=baseline,
            target="ratio <= 1.3",
            met=ratio <= 1.3,
        ),
        result("dispatch", "serial_350_sends", serial, "s"),
        result("dispatch", "enqueue_175x2_rendered", statistics.median(enqueue_times), "s"),
    ]


if __name__ == "__main__":
    import json

    for item in run():
        print(json.dumps(item))
