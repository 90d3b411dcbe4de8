"""Bench scenario ``web``: page latency of the dashboard on a large register, under load.

A SQLite register of 200 resolutions (2,000 obligations, one national-positions campaign per
resolution: 35,000 submissions), with approvals, 70,000 deliveries and 1,000,000 audit
events forming a valid hash chain, is written with bulk inserts (SQLAlchemy core
``insert()``, executemany). ``operative web --workers N`` then serves it from a child
process, as a user runs it, and 20 concurrent clients, each signed in with its own session
cookie, request the overview, one obligation page and the national-positions page back to
back. The baseline is the same 20 clients against ``/healthz`` on the same server in the same
run: what the server, the middleware and the clients cost with no page behind them.

``python -m bench.web --data DIR [--workers N]`` builds the register into DIR once and measures
a copy of it on each later run (for iterating on the app without waiting for the dataset).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.results import environment, line
from bench.results import result as _result

REPO = Path(__file__).resolve().parents[1]
RESOLUTIONS = 200
PARAGRAPHS_PER_RESOLUTION = 10  # every one operative: 2,000 obligations
EVENTS = 1_000_000
CLIENTS = 20
REQUESTS_PER_CLIENT = 5
TARGET_P95_MS = 150.0
# uvicorn processes behind the port, as `operative web` starts by default; `python -m
# bench.web --workers N` measures `operative web --workers N`.
WORKERS = 1
PASSWORD = "bench-password-1244"
SECRET_KEY = "bench-secret-key-not-for-production"
START = dt.datetime(2012, 11, 27, 9, 0, tzinfo=dt.UTC)
# Per resolution: OP1 collects national positions, OP2-5 follow 1244's other playbooks, the
# rest the generic one.
PLAYBOOKS = (
    "national_positions",
    "forward_to_pga",
    "lead_agency_statement",
    "inform_member_states",
    "migrant_perspectives",
)
STATUSES = ("planned", "in_progress", "awaiting_approval", "done", "in_progress", "cancelled")
EVENT_CHUNK = 50_000


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def _insert(connection: sa.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(sa.insert(_table(model)), rows)


def _register(
    connection: sa.Connection, codes: list[tuple[str, str]], rng: random.Random
) -> dict[str, Any]:
    """Resolutions, paragraphs, obligations, submissions, approvals, messages, deliveries;
    returns the ids the events and the measurement refer to."""
    from operative.models import (
        Approval,
        Delivery,
        Message,
        Obligation,
        Paragraph,
        Resolution,
        Submission,
    )

    resolutions, paragraphs, obligations = [], [], []
    for r in range(1, RESOLUTIONS + 1):
        adopted = START + dt.timedelta(days=r)
        resolutions.append(
            {
                "id": r,
                "body": "Bench Council",
                "number": str(2000 + r),
                "session": 101,
                "adopted_on": adopted.date(),
                "title": f"Bench resolution {r} on migration and development",
                "language": "en",
                "content_hash": f"{r:064x}",
                "work_uri": f"/akn/bench/resolution/{r}",
                "expression_uri": f"/akn/bench/resolution/{r}/eng@",
                "source_name": f"bench-{r}.txt",
                "source_text": "",
                "key_dates": {},
                "ingested_at": adopted,
                "updated_at": adopted,
            }
        )
        for p in range(1, PARAGRAPHS_PER_RESOLUTION + 1):
            pid = (r - 1) * PARAGRAPHS_PER_RESOLUTION + p
            playbook = PLAYBOOKS[p - 1] if p <= len(PLAYBOOKS) else "track_obligation"
            status = "in_progress" if p == 1 else STATUSES[pid % len(STATUSES)]
            paragraphs.append(
                {
                    "id": pid,
                    "resolution_id": r,
                    "kind": "operative",
                    "position": p,
                    "num": str(p),
                    "eid": f"para_{p}",
                    "verb": "request",
                    "verb_text": "Requests",
                    "addressee": "Director General",
                    "text": f"Requests the Director General to carry out task {p} of resolution "
                    f"{r}, and to report to the Council at its next session; " * 2,
                    "subparagraphs": [],
                }
            )
            obligations.append(
                {
                    "id": pid,
                    "paragraph_id": pid,
                    "playbook": playbook,
                    "kind": "action",
                    "actor_role": "director_general",
                    "due_at": adopted + dt.timedelta(days=60 + 7 * p),
                    "status": status,
                    "progress": {"done": 100, "planned": 0}.get(status, 40),
                    "reassigned": False,
                    "last_flow_run_id": f"{pid:08x}-0000-4000-8000-000000000000",
                    "created_at": adopted,
                    "updated_at": adopted,
                }
            )
    _insert(connection, Resolution, resolutions)
    _insert(connection, Paragraph, paragraphs)
    _insert(connection, Obligation, obligations)

    campaigns = [o["id"] for o in obligations if o["playbook"] == "national_positions"]
    submissions = []
    for campaign in campaigns:
        invited = START + dt.timedelta(days=campaign // PARAGRAPHS_PER_RESOLUTION + 2)
        for code, _language in codes:
            received = invited + dt.timedelta(hours=rng.randrange(1, 24 * 90))
            answered = rng.random() < 0.6
            reviewed = answered and rng.random() < 0.5
            submissions.append(
                {
                    "obligation_id": campaign,
                    "member_state_iso3": code,
                    "invited_at": invited,
                    "reminded_at": invited + dt.timedelta(days=30) if rng.random() < 0.4 else None,
                    "received_at": received if answered else None,
                    "text": f"The national position of {code}." if answered else None,
                    "verdict": rng.choice(("reflects", "partially", "does_not_reflect"))
                    if reviewed
                    else None,
                    "reviewer": "bench" if reviewed else None,
                    "reviewed_at": received + dt.timedelta(days=3) if reviewed else None,
                    "updated_at": received if answered else invited,
                }
            )
    _insert(connection, Submission, submissions)

    approvals = []
    for o in obligations:
        if o["playbook"] in {"forward_to_pga", "lead_agency_statement", "inform_member_states"}:
            for attempt in (1, 2):
                pending = attempt == 2 and o["status"] == "awaiting_approval"
                approvals.append(
                    {
                        "obligation_id": o["id"],
                        "step": "draft",
                        "cycle": 0,
                        "attempt": attempt,
                        "role_asked": "chair",
                        "drafted_by": "drafter",
                        "requested_at": o["created_at"] + dt.timedelta(days=attempt),
                        "decision": None if pending else ("rejected", "approved")[attempt - 1],
                        "decided_by": None if pending else "chair",
                        "reason": "Redraft." if attempt == 1 else None,
                        "decided_at": None if pending else o["created_at"] + dt.timedelta(days=5),
                    }
                )
    _insert(connection, Approval, approvals)

    # Two messages per campaign (invitation, reminder), one delivery per Member State each.
    messages, deliveries = [], []
    for campaign in campaigns:
        for kind in ("invitation", "reminder"):
            mid = len(messages) + 1
            created = START + dt.timedelta(days=campaign // PARAGRAPHS_PER_RESOLUTION + 2)
            messages.append(
                {
                    "id": mid,
                    "key": f"bench:{campaign}:{kind}",
                    "kind": kind,
                    "obligation_id": campaign,
                    "context": {},
                    "attachments": [],
                    "created_at": created,
                }
            )
            for code, language in codes:
                failed = rng.random() < 0.01
                deliveries.append(
                    {
                        "message_id": mid,
                        "recipient": f"mission:{code}",
                        "channel": "email",
                        "idempotency_key": f"bench:{mid}:{code}",
                        "language": language,
                        "timezone": "Europe/Zurich",
                        "title": f"{kind} {campaign}",
                        "body": "",
                        "status": "failed" if failed else "sent",
                        "attempts": 5 if failed else 1,
                        "failures": 5 if failed else 0,
                        "reclaims": 0,
                        "last_error": "SMTP 550" if failed else None,
                        "sent_at": None if failed else created,
                        "created_at": created,
                    }
                )
    _insert(connection, Message, messages)
    _insert(connection, Delivery, deliveries)
    return {
        "obligations": len(obligations),
        "submissions": len(submissions),
        "approvals": len(approvals),
        "messages": len(messages),
        "deliveries": len(deliveries),
        "campaign": campaigns[0],
    }


def _subjects(
    how_many: int, counts: dict[str, Any], rng: random.Random
) -> Iterator[tuple[str, str]]:
    """(kind, subject) of each event: half on obligations, the rest on the submissions,
    approvals and deliveries of the register, interleaved as a year of work would be."""
    obligations, submissions = counts["obligations"], counts["submissions"]
    approvals, deliveries = counts["approvals"], counts["deliveries"]
    for _ in range(how_many):
        draw = rng.random()
        if draw < 0.5:
            yield "obligation.status", f"obligation:{rng.randrange(1, obligations + 1)}"
        elif draw < 0.6:
            yield "position.received", f"submission:{rng.randrange(1, submissions + 1)}"
        elif draw < 0.62:
            yield "approval.requested", f"approval:{rng.randrange(1, approvals + 1)}"
        else:
            yield "delivery.sent", f"delivery:{rng.randrange(1, deliveries + 1)}"


def _events(connection: sa.Connection, counts: dict[str, Any], rng: random.Random) -> str:
    """A valid hash chain of EVENTS events, chained exactly as operative.core.audit.append does;
    returns the last hash."""
    from operative.core.audit import GENESIS, _digest
    from operative.models import Event

    # Preparing the register (Member States, the user) appended a few events already.
    last = connection.execute(
        sa.text("SELECT id, hash FROM event ORDER BY id DESC LIMIT 1")
    ).first()
    first, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
    chunk: list[dict[str, Any]] = []
    for number, (kind, subject) in enumerate(_subjects(EVENTS - first + 1, counts, rng), first):
        occurred_at = START + dt.timedelta(seconds=30 * number)
        payload = json.dumps({"n": number}, separators=(",", ":"))
        digest = _digest(previous, occurred_at, "bench", kind, subject, payload)
        chunk.append(
            {
                "id": number,
                "occurred_at": occurred_at,
                "actor": "bench",
                "kind": kind,
                "subject": subject,
                "payload": payload,
                "prev_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
        if len(chunk) == EVENT_CHUNK:
            _insert(connection, Event, chunk)
            chunk = []
    _insert(connection, Event, chunk)
    if sa.inspect(connection).has_table("audit_head"):
        # Where the log ended at the last append (operative.core.audit keeps it since 0005).
        connection.execute(
            sa.text("INSERT OR REPLACE INTO audit_head (id, sequence, hash) VALUES (1, :s, :h)"),
            {"s": EVENTS, "h": previous},
        )
    return previous


def generate(data_dir: Path) -> dict[str, Any]:
    """The bench register in ``data_dir/operative.db``; returns counts and timings."""
    from sqlmodel import Session

    from operative.core.db import dispose_engines, get_engine
    from operative.core.settings import get_settings
    from operative.models import MemberState
    from operative.register import bootstrap, users

    rng = random.Random(1244)
    url = f"sqlite:///{data_dir / 'operative.db'}"
    engine = get_engine(url)  # migrated to head: the schema the app runs on
    with Session(engine) as session:
        bootstrap.load_member_states(session, get_settings().config_dir / "member_states.csv")
        users.add_user(session, "bench", name="Bench Officer", roles=["officer"], password=PASSWORD)
        session.commit()
        codes = [
            (s.iso3, s.language) for s in session.query(MemberState).order_by(MemberState.iso3)
        ]
    start = time.perf_counter()
    with engine.begin() as connection:
        counts = _register(connection, codes, rng)
    register_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with engine.begin() as connection:
        _events(connection, counts, rng)
    events_seconds = time.perf_counter() - start
    dispose_engines()
    return {**counts, "register_seconds": register_seconds, "events_seconds": events_seconds}


# --- the server and the clients -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(data_dir: Path, log: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATIVE_", "PREFECT_"))}
    env.update(
        {
            "OPERATIVE_DATA_DIR": str(data_dir),
            "OPERATIVE_SECRET_KEY": SECRET_KEY,
            "PYTHONPATH": str(REPO),
        }
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "operative", "web", "--host", "127.0.0.1"),
                *("--port", str(port), "--workers", str(workers)),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"operative web stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"operative web did not answer on {url} within 120 s")


async def _signed_in(client: Any) -> None:
    """Sign in through the form, as a browser does: the session cookie stays in the client."""
    page = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = await client.post(
        "/signin",
        data={"username": "bench", "password": PASSWORD, "csrf_token": token[1], "next": "/"},
    )
    assert answer.status_code == 303, answer.text[:300]


@dataclass
class Sample:
    """One page's latencies (ms, failed requests included) and how many failed."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


async def _timed(client: Any, path: str, sample: Sample) -> None:
    import httpx

    start = time.perf_counter()
    try:
        answer = await client.get(path)
        problem = "" if answer.status_code == 200 else f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:  # a dropped connection counts as a failed request
        problem = type(exc).__name__
    sample.latencies.append((time.perf_counter() - start) * 1000)
    if problem:
        sample.errors += 1
        sample.first_error = sample.first_error or problem


async def _one_client(client: Any, path: str, sample: Sample) -> None:
    await _timed(client, path, Sample())  # warm: templates compiled, caches filled
    for _ in range(REQUESTS_PER_CLIENT):
        await _timed(client, path, sample)


async def _load(url: str, paths: dict[str, str], clients: int) -> dict[str, Sample]:
    """Latencies of each path, ``clients`` clients at once, each back to back."""
    import httpx

    limits = httpx.Limits(max_connections=1)
    pool = [httpx.AsyncClient(base_url=url, timeout=120, limits=limits) for _ in range(clients)]
    try:
        await asyncio.gather(*(_signed_in(client) for client in pool))
        results: dict[str, Sample] = {}
        for name, path in paths.items():
            sample = results[name] = Sample()
            await asyncio.gather(*(_one_client(client, path, sample) for client in pool))
        return results
    finally:
        await asyncio.gather(*(client.aclose() for client in pool))


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _generated(data_dir: Path) -> dict[str, Any]:
    """:func:`generate` into ``data_dir`` with this process's settings pointed there."""
    with environment(OPERATIVE_DATA_DIR=str(data_dir), OPERATIVE_DATABASE_URL=None):
        start = time.perf_counter()
        made = generate(data_dir)
        made["generation_seconds"] = time.perf_counter() - start
        return made


def _measure(data_dir: Path, campaign: int, workers: int) -> dict[str, dict[str, Sample]]:
    process, url = _serve(data_dir, data_dir / "web.log", workers)
    paths = {
        "baseline": "/healthz",
        "overview": "/",
        "obligation": f"/obligations/{campaign}",
        "positions": "/positions",
    }
    try:
        # One client first: what a page costs the server alone (its service time).
        alone = asyncio.run(_load(url, paths, 1))
        loaded = asyncio.run(_load(url, paths, CLIENTS))
    finally:
        process.terminate()
        process.wait(timeout=60)
    return {"alone": alone, "loaded": loaded}


def run(*, workers: int = WORKERS, data: Path | None = None) -> list[dict[str, Any]]:
    """The scenario on a fresh register (or on a copy of the one kept in ``data``)."""
    with tempfile.TemporaryDirectory(prefix="operative-web-") as scratch:
        data_dir = Path(scratch)
        made: dict[str, Any]
        if data is not None and (data / "operative.db").is_file():
            made = json.loads((data / "register.json").read_text(encoding="utf-8"))
            shutil.copyfile(data / "operative.db", data_dir / "operative.db")
        else:
            made = _generated(data_dir)
            if data is not None:
                data.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(data_dir / "operative.db", data / "operative.db")
                (data / "register.json").write_text(json.dumps(made), encoding="utf-8")
        load_before = os.getloadavg()[0]
        measured = _measure(data_dir, made["campaign"], workers)
        load_after = os.getloadavg()[0]
    alone, loaded = measured["alone"], measured["loaded"]
    generation = made["generation_seconds"]
    results = [
        _result(
            "web", "dataset_generation", generation, "s", target="< 120 s", met=generation < 120
        ),
        _result("web", "dataset_audit_chain_1000000_events", made["events_seconds"], "s"),
        _result("web", "server_processes", workers, "processes"),
        # The machine is shared: what else ran shows in the load average (2 cores).
        _result("web", "load_average_before", load_before, "1-min load"),
        _result("web", "load_average_after", load_after, "1-min load"),
    ]
    base = loaded["baseline"].latencies
    base50, base95 = _p(base, 50), _p(base, 95)
    for page in ("overview", "obligation", "positions"):
        sample = loaded[page]
        p50, p95 = _p(sample.latencies, 50), _p(sample.latencies, 95)
        results.append(_result("web", f"{page}_alone_p50", _p(alone[page].latencies, 50), "ms"))
        results.append(_result("web", f"{page}_p50", p50, "ms", baseline=base50))
        results.append(
            _result(
                "web",
                f"{page}_p95",
                p95,
                "ms",
                baseline=base95,
                target=f"< {TARGET_P95_MS:.0f} ms",
                met=p95 < TARGET_P95_MS,
            )
        )
        errors = _result(
            "web",
            f"{page}_failed_requests",
            sample.errors,
            "requests",
            target="0",
            met=not sample.errors,
        )
        if sample.errors:
            errors["first_error"] = sample.first_error
        results.append(errors)
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="keep the register here and reuse it")
    parser.add_argument("--workers", type=int, default=WORKERS, help="operative web --workers")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    results = run(workers=args.workers, data=args.data)
    for result in results:
        print(json.dumps(result) if args.json else line(result), flush=True)
    return 1 if any(r.get("met") is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
