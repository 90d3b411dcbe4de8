"""Serving operative's deployments.

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
from typing import Any, TypeGuard
from uuid import UUID

import yaml
from prefect import Flow, get_client
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Schedule
from prefect.types.entrypoint import EntrypointType
from pydantic import ValidationError

from operative.core.settings import REPO_ROOT
from operative.errors import Conflict, Invalid
from operative.i18n import local_time

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


class PrefectFileError(Invalid):
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

    document = _read(path, problem)
    if not isinstance(document, dict) or not isinstance(document.get("deployments"), list):
        raise problem("deployments", "a list of deployments is required")
    _check_shared_schedules(document, problem)
    specs: list[DeploymentSpec] = []
    for index, entry in enumerate(document["deployments"]):
        spec = _deployment(entry, index, problem)
        if any(other.name == spec.name for other in specs):
            raise problem(f"deployments[{spec.name}]", "the name is used twice")
        specs.append(spec)
    if not specs:
        raise problem("deployments", "no deployment is described")
    return specs


Problem = Callable[[str, str], PrefectFileError]


def _read(path: Path, problem: Problem) -> Any:
    """The file's YAML document; a file that cannot be read or parsed is refused."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise problem("", f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark is not None else ""
        raise problem(at, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


def _check_shared_schedules(document: dict[str, Any], problem: Problem) -> None:
    """Shared schedules are checked where they are written, so an error names the key to edit."""
    definitions = document.get("definitions") or {}
    shared = (definitions.get("schedules") if isinstance(definitions, dict) else None) or {}
    if not isinstance(definitions, dict) or not isinstance(shared, dict):
        raise problem("definitions.schedules", "must be a mapping of named schedules")
    for name, item in shared.items():
        _schedule(item, f"definitions.schedules.{name}", problem)


def _is_pool(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("name"), str)


# Each optional key of a deployment: its value when absent (None: absent only when not given,
# so an empty value is refused), what it must be, and what to say when it is not.
_OPTIONAL: dict[str, tuple[Callable[[], Any] | None, Callable[[Any], bool], str]] = {
    "tags": (
        list,
        lambda v: isinstance(v, list) and all(isinstance(tag, str) for tag in v),
        "must be a list of strings",
    ),
    "parameters": (dict, lambda v: isinstance(v, dict), "must be a mapping"),
    "description": (None, lambda v: isinstance(v, str), "must be a string"),
    "schedules": (list, lambda v: isinstance(v, list), "must be a list"),
    "work_pool": (None, _is_pool, "must be a mapping with a name"),
}


def _optional(entry: dict[str, Any], key: str, problem: Problem) -> dict[str, Any]:
    """The deployment's optional keys, each checked, absent ones at their default."""
    values = {}
    for name, (default, valid, message) in _OPTIONAL.items():
        value = entry.get(name)
        if not value and default is not None:
            value = default()
        if value is not None and not valid(value):
            raise problem(f"{key}.{name}", message)
        values[name] = value
    return values


def _deployment(entry: Any, index: int, problem: Problem) -> DeploymentSpec:
    if not isinstance(entry, dict):
        raise problem(f"deployments[{index}]", "must be a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise problem(f"deployments[{index}].name", "a name is required")
    key = f"deployments[{name}]"
    unknown = sorted(set(entry) - _DEPLOYMENT_KEYS)
    if unknown:
        raise problem(f"{key}.{unknown[0]}", "not a key operative serves (remove it)")
    given = _optional(entry, key, problem)
    pool = given["work_pool"]
    return DeploymentSpec(
        name=name,
        entrypoint=str(entry.get("entrypoint", "")),
        flow=_load_flow(entry.get("entrypoint"), f"{key}.entrypoint", problem),
        description=given["description"],
        tags=given["tags"],
        parameters=given["parameters"],
        schedules=[
            _schedule(item, f"{key}.schedules[{i}]", problem)
            for i, item in enumerate(given["schedules"])
        ],
        concurrency_limit=_concurrency(
            entry.get("concurrency_limit"), f"{key}.concurrency_limit", problem
        ),
        work_pool=pool["name"] if pool else None,
    )


def _whole_number(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _load_flow(entrypoint: Any, key: str, problem: Problem) -> Flow[..., Any]:
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


def _schedule(item: Any, key: str, problem: Problem) -> ScheduleSpec:
    _check_schedule_keys(item, key, problem)
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


def _refuse_unknown_schedule_keys(item: dict[str, Any], key: str, problem: Problem) -> None:
    unknown = sorted(set(item) - _SCHEDULE_KEYS)
    if unknown:
        kind = unknown[0]
        raise problem(
            f"{key}.{kind}",
            "only cron schedules are supported"
            if kind in {"interval", "rrule", "anchor_date"}
            else "not a schedule key operative serves (remove it)",
        )


def _check_schedule_keys(item: Any, key: str, problem: Problem) -> None:
    """A mapping of the keys operative serves, each of its type, before Prefect reads it."""
    if not isinstance(item, dict):
        raise problem(key, "must be a mapping with cron and timezone")
    _refuse_unknown_schedule_keys(item, key, problem)
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


def _concurrency(value: Any, key: str, problem: Problem) -> ConcurrencyLimitConfig | None:
    if value is None:
        return None
    if _whole_number(value):
        value = {"limit": value}
    if not isinstance(value, dict) or set(value) - {"limit", "collision_strategy"}:
        raise problem(key, "must be a number, or a mapping of limit and collision_strategy")
    limit = value.get("limit")
    if not _whole_number(limit) or limit < 1:
        raise problem(f"{key}.limit", "must be a whole number of at least 1")
    strategy = value.get("collision_strategy", "ENQUEUE")
    if strategy not in {member.value for member in ConcurrencyLimitStrategy}:
        raise problem(f"{key}.collision_strategy", "must be ENQUEUE or CANCEL_NEW")
    return ConcurrencyLimitConfig(
        limit=limit, collision_strategy=ConcurrencyLimitStrategy(strategy)
    )


class ServeConflict(Conflict):
    """The server already runs these deployments some other way."""

    # Nothing the command line could change: the serve fails, as a failure of the work.
    exit_code = 1


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
    with get_client(sync_client=True) as client:
        found, findings = _registered(client, specs)
        scheduled = [s for s in specs if s.schedules and s.full_name in found]
        findings += [
            finding
            for spec in scheduled
            if (finding := _schedule_differs(spec, found[spec.full_name])) is not None
        ]
        waiting = {
            s.full_name: s for s in scheduled if any(schedule.active for schedule in s.schedules)
        }
        findings += _planned(client, waiting, found, wait_for_scheduler)
    return findings


def _registered(client: Any, specs: list[DeploymentSpec]) -> tuple[dict[str, Any], list[Finding]]:
    """The deployments the server holds, by full name, and a finding for each missing one."""
    found: dict[str, Any] = {}
    findings: list[Finding] = []
    for spec in specs:
        try:
            found[spec.full_name] = client.read_deployment_by_name(spec.full_name)
        except ObjectNotFound:
            findings.append(Finding(False, f"deployment {spec.full_name} is not registered"))
    if len(found) == len(specs):
        findings.append(Finding(True, f"{len(specs)} deployments registered: " + ", ".join(found)))
    return found, findings


def _schedule_differs(spec: DeploymentSpec, deployment: Any) -> Finding | None:
    """A finding when the server holds other schedules than the file (or holds them paused)."""
    held = sorted(
        (s.schedule.cron, s.schedule.timezone, s.active)
        for s in deployment.schedules
        if isinstance(s.schedule, CronSchedule)
    )
    wanted = sorted((s.cron, s.timezone, s.active) for s in spec.schedules)
    if not deployment.paused and held == wanted:
        return None
    paused = " (paused)" if deployment.paused else ""
    return Finding(
        False, f"{spec.full_name}: the server holds {held or 'no schedule'}{paused}, not {wanted}"
    )


def _next_run(client: Any, deployment_id: UUID) -> dt.datetime | None:
    """When the next scheduled run of a deployment is expected, if the scheduler planned one."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        limit=1,
    )
    return runs[0].expected_start_time if runs else None


def _planned(
    client: Any, waiting: dict[str, DeploymentSpec], found: dict[str, Any], patience: float
) -> list[Finding]:
    """Wait up to ``patience`` seconds for the scheduler to plan a run of each deployment."""
    findings: list[Finding] = []
    deadline = time.monotonic() + patience
    while True:
        for full_name, spec in list(waiting.items()):
            expected = _next_run(client, found[full_name].id)
            if expected is None:
                continue
            schedules = "; ".join(s.describe() for s in spec.schedules)
            when = _local(expected, spec.schedules[0].timezone)
            findings.append(Finding(True, f"{full_name}: {schedules}, next run {when}"))
            del waiting[full_name]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    findings.extend(
        Finding(
            False,
            f"{full_name}: the server's scheduler planned no run within "
            f"{patience:.0f} s (is its scheduler service on?)",
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
    return local_time(moment, "YYYY-MM-DD HH:mm zz", zone=zone)
