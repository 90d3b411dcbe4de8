"""Serving operative's deployments, and the monthly briefing cycle.

``deploy/prefect.yaml`` is the one description of the deployments: their names, entrypoints,
parameters, schedules and concurrency. :func:`load_specs` reads it and checks every schedule
with Prefect's own validators, so an invalid cron expression or time zone is refused with its
key named before anything is registered. :class:`Service` registers the deployments on the
Prefect API and runs them with a Prefect ``Runner``; :func:`check` says whether the server
holds them as described and its scheduler has planned their runs.

The Runner lives in a thread of its own, with its own event loop: signals stay with the main
thread (which owns shutdown: stop the Runner, then the server), and the main thread stays free
for the web app. Each run is still a process of its own, spawned by the Runner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml
from prefect import Flow, flow, get_client, get_run_logger, task
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, FlowRun
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from prefect.schedules import Cron, Schedule
from prefect.types.entrypoint import EntrypointType
from pydantic import ValidationError
from sqlmodel import col, select

from operative.core.db import session_scope
from operative.core.settings import REPO_ROOT, get_settings
from operative.models import Obligation, ObligationStatus
from tasks import transient_database_error

DEFAULT_PREFECT_FILE = REPO_ROOT / "deploy" / "prefect.yaml"

# How often the Runner asks the server for runs to start. Prefect's default (10 s, integers
# only through PREFECT_RUNNER_POLL_FREQUENCY) is long for a person who has just approved a step
# or started a playbook from the web app; one query a second is nothing for the server.
POLL_SECONDS = 1.0

_DEPLOYMENT_KEYS = frozenset(
    (
        "name",
        "entrypoint",
        "description",
        "tags",
        "parameters",
        "schedules",
        "concurrency_limit",
        "work_pool",
    )
)
_SCHEDULE_KEYS = frozenset({"cron", "timezone", "day_or", "active"})


class PrefectFileError(ValueError):
    """The deployments file is unreadable or describes something that cannot be served."""


@dataclass(frozen=True)
class ScheduleSpec:
    """A cron schedule in a named time zone."""

    cron: str
    timezone: str
    day_or: bool = True
    active: bool = True

    def describe(self) -> str:
        return f"{self.cron} ({self.timezone})" + ("" if self.active else ", inactive")

    def prefect_schedule(self) -> Schedule:
        return Cron(self.cron, timezone=self.timezone, day_or=self.day_or, active=self.active)


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of ``deploy/prefect.yaml``, its flow loaded."""

    name: str
    entrypoint: str
    flow: Flow[..., Any]
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    concurrency_limit: ConcurrencyLimitConfig | None = None
    work_pool: str | None = None

    @property
    def full_name(self) -> str:
        """``flow/deployment``, as Prefect names it."""
        return f"{self.flow.name}/{self.name}"


def display_path(path: Path) -> str:
    """A path as a person reads it: relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_specs(path: Path | None = None) -> list[DeploymentSpec]:
    """Read and check the deployments file; every problem names its file and key."""
    path = path or DEFAULT_PREFECT_FILE
    where = display_path(path)

    def problem(key: str, message: str) -> PrefectFileError:
        return PrefectFileError(f"{where}: {key}: {message}" if key else f"{where}: {message}")

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise problem("", f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark is not None else ""
        raise problem(at, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("deployments"), list):
        raise problem("deployments", "a list of deployments is required")
    # Shared schedules are checked where they are written, so an error names the key to edit.
    definitions = document.get("definitions") or {}
    shared = (definitions.get("schedules") if isinstance(definitions, dict) else None) or {}
    if not isinstance(definitions, dict) or not isinstance(shared, dict):
        raise problem("definitions.schedules", "must be a mapping of named schedules")
    for name, item in shared.items():
        _schedule(item, f"definitions.schedules.{name}", problem)
    specs: list[DeploymentSpec] = []
    for index, entry in enumerate(document["deployments"]):
        spec = _deployment(entry, index, problem)
        if any(other.name == spec.name for other in specs):
            raise problem(f"deployments[{spec.name}]", "the name is used twice")
        specs.append(spec)
    if not specs:
        raise problem("deployments", "no deployment is described")
    return specs


def _deployment(
    entry: Any, index: int, problem: Callable[[str, str], PrefectFileError]
) -> DeploymentSpec:
    if not isinstance(entry, dict):
        raise problem(f"deployments[{index}]", "must be a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise problem(f"deployments[{index}].name", "a name is required")
    key = f"deployments[{name}]"
    unknown = sorted(set(entry) - _DEPLOYMENT_KEYS)
    if unknown:
        raise problem(f"{key}.{unknown[0]}", "not a key operative serves (remove it)")
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise problem(f"{key}.tags", "must be a list of strings")
    parameters = entry.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise problem(f"{key}.parameters", "must be a mapping")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise problem(f"{key}.description", "must be a string")
    schedules = entry.get("schedules") or []
    if not isinstance(schedules, list):
        raise problem(f"{key}.schedules", "must be a list")
    pool = entry.get("work_pool")
    if pool is not None and not (isinstance(pool, dict) and isinstance(pool.get("name"), str)):
        raise problem(f"{key}.work_pool", "must be a mapping with a name")
    return DeploymentSpec(
        name=name,
        entrypoint=str(entry.get("entrypoint", "")),
        flow=_load_flow(entry.get("entrypoint"), f"{key}.entrypoint", problem),
        description=description,
        tags=tags,
        parameters=parameters,
        schedules=[
            _schedule(item, f"{key}.schedules[{i}]", problem) for i, item in enumerate(schedules)
        ],
        concurrency_limit=_concurrency(
            entry.get("concurrency_limit"), f"{key}.concurrency_limit", problem
        ),
        work_pool=pool["name"] if pool else None,
    )


def _load_flow(
    entrypoint: Any, key: str, problem: Callable[[str, str], PrefectFileError]
) -> Flow[..., Any]:
    if not isinstance(entrypoint, str) or entrypoint.count(":") != 1:
        raise problem(key, "must be PATH.py:FLOW, relative to the repository root")
    file, _, attribute = entrypoint.partition(":")
    relative = Path(file)
    if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".py":
        raise problem(key, f"{file!r} must be a .py file inside the repository")
    if not (REPO_ROOT / relative).is_file():
        raise problem(key, f"{file} does not exist")
    module = importlib.import_module(".".join(relative.with_suffix("").parts))
    found = getattr(module, attribute, None)
    if not isinstance(found, Flow):
        raise problem(key, f"{file} has no flow named {attribute!r}")
    return found


def _schedule(item: Any, key: str, problem: Callable[[str, str], PrefectFileError]) -> ScheduleSpec:
    if not isinstance(item, dict):
        raise problem(key, "must be a mapping with cron and timezone")
    unknown = sorted(set(item) - _SCHEDULE_KEYS)
    if unknown:
        kind = unknown[0]
        raise problem(
            f"{key}.{kind}",
            "only cron schedules are supported"
            if kind in {"interval", "rrule", "anchor_date"}
            else "not a schedule key operative serves (remove it)",
        )
    for name in ("cron", "timezone"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise problem(
                f"{key}.{name}",
                "a cron expression is required"
                if name == "cron"
                else "a time zone is required (for example Europe/Zurich)",
            )
    if len(item["cron"].split()) != 5:
        # Prefect also takes a sixth field, for seconds: a slip that would fire every second.
        raise problem(
            f"{key}.cron",
            f"a cron expression has five fields (minute hour day month weekday): {item['cron']!r}",
        )
    for flag in ("day_or", "active"):
        if not isinstance(item.get(flag, True), bool):
            raise problem(f"{key}.{flag}", "must be true or false")
    try:
        CronSchedule(cron=item["cron"], timezone=item["timezone"], day_or=item.get("day_or", True))
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = str(first["loc"][0]) if first["loc"] else "cron"
        reason = "not a valid cron expression" if field_name == "cron" else "unknown time zone"
        raise problem(f"{key}.{field_name}", f"{reason}: {item[field_name]!r}") from None
    return ScheduleSpec(
        cron=item["cron"],
        timezone=item["timezone"],
        day_or=item.get("day_or", True),
        active=item.get("active", True),
    )


def _concurrency(
    value: Any, key: str, problem: Callable[[str, str], PrefectFileError]
) -> ConcurrencyLimitConfig | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"limit": value}
    if not isinstance(value, dict) or set(value) - {"limit", "collision_strategy"}:
        raise problem(key, "must be a number, or a mapping of limit and collision_strategy")
    limit = value.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise problem(f"{key}.limit", "must be a whole number of at least 1")
    strategy = value.get("collision_strategy", "ENQUEUE")
    if strategy not in {member.value for member in ConcurrencyLimitStrategy}:
        raise problem(f"{key}.collision_strategy", "must be ENQUEUE or CANCEL_NEW")
    return ConcurrencyLimitConfig(
        limit=limit, collision_strategy=ConcurrencyLimitStrategy(strategy)
    )


class ServeConflict(RuntimeError):
    """The server already runs these deployments some other way."""


async def _runner_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    deployment = await spec.flow.ato_deployment(
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        parameters=spec.parameters,
        schedules=[schedule.prefect_schedule() for schedule in spec.schedules],
        concurrency_limit=spec.concurrency_limit,
        paused=False,
        # A module path, not a file path: served runs import the flow from the installed
        # package, whatever directory `operative serve` was started in.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # Set explicitly so the update clears a work pool left by an earlier `prefect deploy`.
    deployment.work_pool_name = None
    deployment.work_queue_name = None
    return deployment


class Service:
    """The deployments, registered on the Prefect API and run by a Runner in its own thread."""

    def __init__(self, specs: list[DeploymentSpec], *, poll_seconds: float = POLL_SECONDS):
        self.specs = specs
        self.poll_seconds = poll_seconds
        self.deployment_ids: dict[str, UUID] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = asyncio.Event()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, *, take_runs: bool = True, timeout: float = 120.0) -> None:
        """Register every deployment and start the Runner; returns once it is running.

        With ``take_runs=False`` the Runner's services start but it takes no run: what a
        health check needs, without starting work that happens to be due.
        """
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._main(take_runs),),
            name="operative-runner",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the Prefect runner did not start within {timeout:.0f} s")
        if self._error is not None:
            raise self._error

    @property
    def failure(self) -> BaseException | None:
        """Why the Runner stopped by itself, if it did."""
        if self._error is not None:
            return self._error
        if self._stopping.is_set():
            return None
        if self._thread is not None and self._ready.is_set() and not self._thread.is_alive():
            return RuntimeError("the Prefect runner stopped")
        return None

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop taking runs, cancel those still running, end the thread; False if it hung.

        Prefect cancels the runs one after another, each given a few seconds to end, so a
        stop takes about three seconds per run in progress (a run waiting for an approval
        holds its process, so it counts).
        """
        self._stopping.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call: then there is nothing to stop.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop_requested.set)
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    async def _main(self, take_runs: bool) -> None:
        from prefect.runner import Runner

        self._loop = asyncio.get_running_loop()
        try:
            if self._stopping.is_set():
                return
            await self._refuse_pooled()
            runner = Runner(
                name="operative-serve",
                query_seconds=self.poll_seconds,
                # Runs nobody takes while operative is stopped wait for its return; pausing
                # the schedules instead would leave the next start to unpause them.
                pause_on_shutdown=False,
                # A playbook run waiting for an approval holds its process for days; a cap
                # would let waiting runs keep the reminder sweep from starting.
                limit=None,
            )
            for spec in self.specs:
                if self._stopping.is_set():
                    return
                self.deployment_ids[spec.full_name] = await runner.aadd_deployment(
                    await _runner_deployment(spec)
                )
            if not take_runs:
                async with runner:
                    self._ready.set()
                    await self._stop_requested.wait()
                return
            starting = asyncio.ensure_future(runner.start())
            while not runner.started and not starting.done():
                await asyncio.sleep(0.02)
            self._ready.set()
            stop = asyncio.ensure_future(self._stop_requested.wait())
            await asyncio.wait({starting, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                await runner.astop()
            stop.cancel()
            await starting
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _refuse_pooled(self) -> None:
        # A deployment on a work pool (put there by `operative deploy`) is run by workers;
        # serving it here would silently move it off the pool.
        async with get_client() as client:
            for spec in self.specs:
                try:
                    existing = await client.read_deployment_by_name(spec.full_name)
                except ObjectNotFound:
                    continue
                if existing.work_pool_name:
                    raise ServeConflict(
                        f"{spec.full_name} is on work pool {existing.work_pool_name!r} "
                        "(registered by `operative deploy`), so workers run it; delete it "
                        "with `prefect deployment delete` to serve it here instead"
                    )


@dataclass(frozen=True)
class Finding:
    """One thing ``operative serve --check`` looked at."""

    ok: bool
    text: str


def check(specs: list[DeploymentSpec], *, wait_for_scheduler: float = 60.0) -> list[Finding]:
    """Whether the server holds every deployment as described, and has planned its runs."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    findings: list[Finding] = []
    with get_client(sync_client=True) as client:
        found: dict[str, Any] = {}
        for spec in specs:
            try:
                found[spec.full_name] = client.read_deployment_by_name(spec.full_name)
            except ObjectNotFound:
                findings.append(Finding(False, f"deployment {spec.full_name} is not registered"))
        if len(found) == len(specs):
            findings.append(
                Finding(True, f"{len(specs)} deployments registered: " + ", ".join(found))
            )
        scheduled = [s for s in specs if s.schedules and s.full_name in found]
        for spec in scheduled:
            deployment = found[spec.full_name]
            held = sorted(
                (s.schedule.cron, s.schedule.timezone, s.active)
                for s in deployment.schedules
                if isinstance(s.schedule, CronSchedule)
            )
            wanted = sorted((s.cron, s.timezone, s.active) for s in spec.schedules)
            if deployment.paused or held != wanted:
                findings.append(
                    Finding(
                        False,
                        f"{spec.full_name}: the server holds "
                        f"{held or 'no schedule'}{' (paused)' if deployment.paused else ''}, "
                        f"not {wanted}",
                    )
                )
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait_for_scheduler)
        waiting = {
            s.full_name: found[s.full_name].id
            for s in scheduled
            if any(schedule.active for schedule in s.schedules)
        }
        while True:
            for full_name, deployment_id in list(waiting.items()):
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                        )
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=1,
                )
                if runs and runs[0].expected_start_time is not None:
                    spec = next(s for s in scheduled if s.full_name == full_name)
                    schedules = "; ".join(s.describe() for s in spec.schedules)
                    findings.append(
                        Finding(
                            True,
                            f"{full_name}: {schedules}, next run "
                            f"{_local(runs[0].expected_start_time, spec.schedules[0].timezone)}",
                        )
                    )
                    del waiting[full_name]
            if not waiting or dt.datetime.now(dt.UTC) > deadline:
                break
            time.sleep(0.5)
        findings.extend(
            Finding(
                False,
                f"{full_name}: the server's scheduler planned no run within "
                f"{wait_for_scheduler:.0f} s (is its scheduler service on?)",
            )
            for full_name in waiting
        )
    return findings


def check_service(
    specs: list[DeploymentSpec], api_url: str, where: str, source: str | None = None
) -> list[Finding]:
    """``operative serve --check``: the deployments file, the app database, the API, the
    Runner and what the server holds; the Service must be started."""
    import sqlalchemy as sa

    from operative.core.db import get_engine

    scheduled = sum(1 for spec in specs if spec.schedules)
    findings = [
        Finding(
            True,
            f"{source or display_path(DEFAULT_PREFECT_FILE)}: {len(specs)} deployments, "
            f"{scheduled} on a schedule",
        )
    ]
    engine = get_engine()
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    findings.append(
        Finding(True, f"app database answers: {engine.url.render_as_string(hide_password=True)}")
    )
    with get_client(sync_client=True) as client:
        unhealthy = client.api_healthcheck()
        version = client.api_version() if unhealthy is None else None
    findings.append(
        Finding(
            unhealthy is None,
            f"Prefect API at {api_url} ({where}) "
            + (f"is healthy, server {version}" if unhealthy is None else f"fails: {unhealthy}"),
        )
    )
    findings.append(Finding(True, "runner started (it takes no run during a check)"))
    return findings + check(specs)


def _local(moment: dt.datetime, zone: str) -> str:
    import pendulum

    return str(pendulum.instance(moment).in_timezone(zone).format("YYYY-MM-DD HH:mm zz"))


# The briefing cycle: a scheduled flow that starts the playbook's runs, one per obligation.

INFORM_DEPLOYMENT = "inform_member_states/inform-member-states"
FINISHED = (ObligationStatus.done, ObligationStatus.cancelled)


@task(retries=3, retry_delay_seconds=1, retry_condition_fn=transient_database_error)
def open_obligations(playbook: str) -> list[dict[str, Any]]:
    """The obligations following ``playbook`` that are neither done nor cancelled."""
    with session_scope() as session:
        rows = session.exec(
            select(Obligation)
            .where(Obligation.playbook == playbook)
            .where(col(Obligation.status).not_in(FINISHED))
            .order_by(col(Obligation.id))
        ).all()
        return [{"id": row.id, "last_flow_run_id": row.last_flow_run_id} for row in rows]


def _still_running(flow_run_id: str | None) -> str | None:
    """The state of an obligation's last run when it has not finished (waiting counts)."""
    if not flow_run_id:
        return None
    try:
        run_uuid = UUID(flow_run_id)
    except ValueError:
        return None
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(run_uuid).state
        except ObjectNotFound:
            return None
    return None if state is None or state.is_final() else state.name


def _month(moment: dt.datetime) -> str:
    """The month a run was scheduled in, in the secretariat's zone (YYYY-MM)."""
    import pendulum

    return str(pendulum.instance(moment).in_timezone(get_settings().timezone).format("YYYY-MM"))


@flow(name="briefing_cycle", log_prints=False)
def briefing_cycle(drafted_by: str = "secretariat") -> dict[str, str]:
    """Start this month's briefing for every open obligation to keep Member States informed."""
    logger = get_run_logger()
    month = _month(flow_run.scheduled_start_time)
    started: dict[str, str] = {}
    for item in open_obligations("inform_member_states"):
        obligation_id = item["id"]
        busy = _still_running(item["last_flow_run_id"])
        if busy is not None:
            # Its last run still waits (for the DG's approval, say): a second one would wait
            # on the same approval. That run carries the cycle on.
            started[str(obligation_id)] = f"skipped: run {item['last_flow_run_id']} is {busy}"
            continue
        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync here: a FlowRun
            INFORM_DEPLOYMENT,
            parameters={"obligation_id": obligation_id, "drafted_by": drafted_by},
            timeout=0,
            # One briefing run per obligation and month, however often the cycle runs.
            idempotency_key=f"briefing-cycle:{obligation_id}:{month}",
        )
        started[str(obligation_id)] = f"started run {run.id}"
    logger.info("Briefing cycle: %s", started or "no open obligation")
    return started
