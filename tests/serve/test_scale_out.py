"""Scale-out, for real on one machine: PostgreSQL for the app and for the Prefect server, two
Prefect workers on the `operative` process work pool, and a burst of playbook runs.

Everything is started the way README tells an operator to start it (`prefect server start`,
`operative deploy`, `prefect worker start`), on loopback, as subprocesses of the test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import SEED, _postgres_server
from tests.notify.sinks import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
UN_GA = REPO / "tests" / "fixtures" / "resolutions" / "un-ga-en.md"
RUNS_PER_OBLIGATION = 2
WORKERS = ("worker-a", "worker-b")
# Prefect's own variables are replaced wholesale: the session server of tests/flows must not
# leak into the processes started here.
_DROPPED = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_SERVER_DATABASE_CONNECTION_URL")


def _database(server: str, name: str) -> str:
    import sqlalchemy as sa

    from operative.core.db import normalise_url

    admin = sa.create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def _drop(server: str, names: list[str]) -> None:
    import sqlalchemy as sa

    from operative.core.db import normalise_url

    admin = sa.create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class Topology:
    """The processes of one scale-out installation and the environment they share."""

    def __init__(self, root: Path, app_url: str, prefect_db_url: str) -> None:
        self.root = root
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
        env.update(
            OPERATIVE_DATA_DIR=str(root / "data"),
            OPERATIVE_DATABASE_URL=app_url,
            PREFECT_HOME=str(root / "prefect-home"),
            PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_db_url.replace(
                "postgresql://", "postgresql+asyncpg://", 1
            ),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_API_URL=self.api,
            # Workers look for work every second (default 10 s) and each takes at most two
            # runs at a time, so a burst is shared between them rather than taken by one.
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_LOGGING_LEVEL="INFO",
        )
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        self.logs.append(log)
        process = subprocess.Popen(
            list(argv),
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def run(self, *argv: str) -> str:
        done = subprocess.run(
            list(argv), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{argv}: {done.stderr or done.stdout}"
        return done.stdout

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def wait_healthy(self, timeout: float = 150.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.processes[0].poll() is not None:
                break
            time.sleep(0.5)
        pytest.fail(
            f"the Prefect server on PostgreSQL did not start:\n{self.log('server')[-3000:]}"
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop(process)
        for log in self.logs:
            log.close()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """Two fresh PostgreSQL databases (app, Prefect) and a place for the processes' files."""
    server = _postgres_server()
    if server is None:
        if os.environ.get("OPERATIVE_REQUIRE_POSTGRES") == "1":
            pytest.fail("OPERATIVE_REQUIRE_POSTGRES=1 but OPERATIVE_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set OPERATIVE_TEST_POSTGRES_URL (.ci/test does)")
    suffix = uuid.uuid4().hex[:10]
    names = [f"scale_app_{suffix}", f"scale_prefect_{suffix}"]
    app_url, prefect_url = (_database(server, name) for name in names)
    setup = Topology(tmp_path, app_url, prefect_url)
    try:
        yield setup
    finally:
        setup.stop()
        _drop(server, names)


def _config_without_quiet_hours(root: Path) -> Path:
    """A copy of config/ whose reminders.yaml has no quiet hours, so that whether a reminder
    goes out does not depend on the hour the test happens to run at."""
    config = root / "config"
    shutil.copytree(REPO / "config", config)
    path = config / "reminders.yaml"
    reminders = yaml.safe_load(path.read_text(encoding="utf-8"))
    # Equal ends make an empty window: no minute of the day is quiet.
    reminders["quiet_hours"] = {"start": "00:00", "end": "00:00"}
    path.write_text(yaml.safe_dump(reminders), encoding="utf-8")
    return config


def _create_runs(api: str, obligation_ids: list[int]) -> list[str]:
    """The burst: every obligation's run started RUNS_PER_OBLIGATION times, at once."""
    with httpx.Client(base_url=api, timeout=30) as client:
        deployment = client.get("/deployments/name/track_obligation/track-obligation")
        deployment.raise_for_status()
        deployment_id = deployment.json()["id"]
        created = []
        for _ in range(RUNS_PER_OBLIGATION):
            for obligation_id in obligation_ids:
                answer = client.post(
                    f"/deployments/{deployment_id}/create_flow_run",
                    json={"parameters": {"obligation_id": obligation_id}},
                )
                answer.raise_for_status()
                created.append(answer.json()["id"])
    return created


def _states(api: str, run_ids: list[str]) -> dict[str, str]:
    with httpx.Client(base_url=api, timeout=30) as client:
        answer = client.post(
            "/flow_runs/filter",
            json={"flow_runs": {"id": {"any_": run_ids}}, "limit": len(run_ids)},
        )
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
    return {row["id"]: row["state_type"] for row in rows}


def _wait_terminal(api: str, run_ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = _states(api, run_ids)
        if len(states) == len(run_ids) and all(
            state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} for state in states.values()
        ):
            return states
        time.sleep(1)
    return states


def test_a_burst_of_runs_is_shared_by_two_workers_on_postgresql_and_nothing_is_lost(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scale-out is only worth having if every run of a burst completes exactly once, on
    whichever worker takes it, with the app's register and outbox on PostgreSQL intact: two
    runs of the same obligation on two workers must still send its reminder once."""
    operative = str(BIN / "operative")
    prefect = str(BIN / "prefect")
    topology.start("server", prefect, "server", "start", "--host", "127.0.0.1", "--port",
                   str(topology.port))  # fmt: skip
    topology.env["OPERATIVE_CONFIG_DIR"] = str(_config_without_quiet_hours(topology.root))
    topology.run(operative, "ingest", str(SEED))
    topology.run(operative, "ingest", str(UN_GA))
    # Every obligation follows the generic playbook here: it needs no person to decide, and
    # its runs remind the owner as config/reminders.yaml says (1244's deadlines are moved
    # below, so that a reminder is owed now).
    for obligation_id in range(1, 6):
        topology.run(operative, "reassign", str(obligation_id), "track_obligation",
                     "--reason", "scale-out test")  # fmt: skip
    topology.wait_healthy()
    deployed = topology.run(operative, "deploy")
    assert "track_obligation/track-obligation" in deployed
    for name in WORKERS:
        topology.start(name, prefect, "worker", "start", "--pool", "operative", "--name", name,
                       "--limit", "2")  # fmt: skip

    monkeypatch.setenv("OPERATIVE_DATABASE_URL", topology.env["OPERATIVE_DATABASE_URL"])
    monkeypatch.setenv("OPERATIVE_CONFIG_DIR", topology.env["OPERATIVE_CONFIG_DIR"])
    from operative.core.db import dispose_engines, session_scope
    from operative.core.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()
    from sqlmodel import col, select

    from operative.core import audit, clock
    from operative.models import Message, Obligation, ReminderSent
    from operative.register.obligations import due_instant
    from operative.reminders import sweep
    from operative.reminders.policy import GENEVA

    # 1244's five deadlines moved to three working days from today: its "before-10" and
    # "before-5" stages have come, "before-1" is two working days away, and only the latest
    # stage come is sent, so each owes exactly one stage now, at any hour of any day.
    today = clock.now().in_timezone(GENEVA).date()
    due_at = due_instant(clock.load_working_calendar().shift(today, 3))
    with session_scope() as session:
        for obligation in session.exec(select(Obligation).where(col(Obligation.id) <= 5)):
            obligation.due_at = due_at
            session.add(obligation)
    with session_scope() as session:
        obligation_ids = sorted(o.id for o in session.exec(select(Obligation)) if o.id)
        owed = {
            oid: [due.stage.name for due in sweep.find_due(session, clock.now(), obligation_id=oid)]
            for oid in obligation_ids
        }
    assert len(obligation_ids) == 11
    # 3 is declaratory (nobody is reminded of it); 6-11 are due in 2044-2045.
    assert {oid: len(stages) for oid, stages in owed.items() if stages} == {1: 1, 2: 1, 4: 1, 5: 1}

    started = time.monotonic()
    run_ids = _create_runs(topology.api, obligation_ids)
    states = _wait_terminal(topology.api, run_ids, timeout=480)
    elapsed = time.monotonic() - started
    logs = {name: topology.log(name) for name in WORKERS}
    not_done = {run: state for run, state in states.items() if state != "COMPLETED"}
    assert len(states) == len(run_ids) and not not_done, (
        f"{len(not_done)} of {len(run_ids)} runs not completed after {elapsed:.0f} s: "
        f"{sorted(set(not_done.values()))}\n" + "\n".join(v[-2000:] for v in logs.values())
    )

    # Each run was executed by exactly one worker (its process logs "View at .../flow-run/ID"
    # through the worker that started it), and both workers executed some. Both workers may
    # try to submit the same run: the server lets one have it and tells the other to abort.
    taken = {
        name: set(re.findall(r"/runs/flow-run/([0-9a-f-]{36})", text))
        for name, text in logs.items()
    }
    aborted = sum(text.count("Aborted submission of flow run") for text in logs.values())
    assert taken["worker-a"] and taken["worker-b"], {k: len(v) for k, v in taken.items()}
    assert not taken["worker-a"] & taken["worker-b"]
    assert taken["worker-a"] | taken["worker-b"] == set(run_ids)

    with session_scope() as session:
        obligations = {o.id: o for o in session.exec(select(Obligation))}
        sent = session.exec(select(ReminderSent)).all()
        # A run reminds the owner of its own obligation in a digest of that one deadline.
        digests = session.exec(
            select(Message).where(col(Message.key).like("reminder-digest:%"))
        ).all()
        checked, breaks = audit.verify(session)
    # Every run left its mark: each obligation names one of its own runs as its last.
    runs_of = {oid: set(run_ids[i :: len(obligation_ids)]) for i, oid in enumerate(obligation_ids)}
    for oid in obligation_ids:
        assert obligations[oid].last_flow_run_id in runs_of[oid]
        assert str(obligations[oid].status) == "in_progress"
    # The four obligations owing a stage were reminded of it once each, in one message each,
    # though each ran twice at once.
    assert sorted((r.target, r.stage) for r in sent) == sorted(
        (f"obligation:{oid}", stage) for oid, stages in owed.items() for stage in stages
    )
    assert {r.message_id for r in sent} == {m.id for m in digests}
    assert [m.context["items"] for m in digests] == [1] * len(sent)
    assert checked > 0 and breaks == []
    print(
        f"scale-out: {len(run_ids)} runs on {len(WORKERS)} workers in {elapsed:.1f} s "
        f"({', '.join(f'{k}: {len(v)}' for k, v in taken.items())}; "
        f"{aborted} submissions lost to the other worker and aborted)"
    )
