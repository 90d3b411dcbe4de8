"""Obligations: derived from operative paragraphs by the rules of ``config/playbooks.yaml``,
moved through their lifecycle in one place, and reassigned by the secretariat.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col

from operative.core import audit
from operative.core import clock as calendar
from operative.core.configfile import load_yaml_model
from operative.core.settings import get_settings
from operative.models import Obligation, ObligationStatus, utcnow

GENERIC_PLAYBOOK = "track_obligation"

# The lifecycle of DESIGN §3: planned → in_progress ⇄ awaiting_approval → done, or cancelled.
TRANSITIONS: dict[ObligationStatus, frozenset[ObligationStatus]] = {
    ObligationStatus.planned: frozenset({ObligationStatus.in_progress, ObligationStatus.cancelled}),
    ObligationStatus.in_progress: frozenset(
        {ObligationStatus.awaiting_approval, ObligationStatus.done, ObligationStatus.cancelled}
    ),
    ObligationStatus.awaiting_approval: frozenset(
        {ObligationStatus.in_progress, ObligationStatus.done, ObligationStatus.cancelled}
    ),
    ObligationStatus.done: frozenset(),
    ObligationStatus.cancelled: frozenset(),
}


class ConfigError(ValueError):
    """The playbook configuration is not usable; the message names the offending key."""


class LifecycleError(ValueError):
    """A status change the lifecycle does not allow."""


def fold(text: str) -> str:
    """Text compared the way rules compare it: no case, no accents, one kind of apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", bare).strip().casefold()


class DueRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anchor: str = "adopted"
    days: int = 0


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    playbook: str
    verbs: list[str] = Field(default_factory=list)
    addressee: list[str] = Field(default_factory=list)
    keywords: list[list[str]] = Field(default_factory=list)
    due: DueRule = Field(default_factory=DueRule)

    @field_validator("keywords", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        # A bare phrase is a group of one.
        if isinstance(value, list):
            return [group if isinstance(group, list) else [group] for group in value]
        return value


class Declaratory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verbs: list[str]
    due: DueRule = Field(default_factory=DueRule)


class PlaybookInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    description: str = ""


class PlaybookConfig(BaseModel):
    """``config/playbooks.yaml``, validated."""

    model_config = ConfigDict(extra="forbid")

    playbooks: dict[str, PlaybookInfo]
    actor_roles: dict[str, str] = Field(default_factory=dict)
    default_due: DueRule = Field(default_factory=lambda: DueRule(days=90))
    declaratory: Declaratory
    rules: list[Rule]

    def model_post_init(self, _context: Any) -> None:
        if GENERIC_PLAYBOOK not in self.playbooks:
            raise ValueError(f"playbooks: the generic playbook {GENERIC_PLAYBOOK!r} is missing")
        for index, rule in enumerate(self.rules):
            if rule.playbook not in self.playbooks:
                raise ValueError(
                    f"rules[{index}] ({rule.name}): unknown playbook {rule.playbook!r}"
                )

    def actor_role(self, addressee: str | None) -> str:
        if not addressee:
            return "secretariat"
        folded = fold(addressee)
        for name, role in self.actor_roles.items():
            if fold(name) == folded:
                return role
        return re.sub(r"[^a-z0-9]+", "_", folded).strip("_") or "secretariat"


def load_playbooks(path: Path | None = None) -> PlaybookConfig:
    """Read and validate the playbook rules; a bad file raises :class:`ConfigError`."""
    path = path or get_settings().config_dir / "playbooks.yaml"
    return _load_playbooks(path.resolve())


@lru_cache(maxsize=8)
def _load_playbooks(path: Path) -> PlaybookConfig:
    return load_yaml_model(path, PlaybookConfig, ConfigError)


@dataclass(frozen=True)
class Derived:
    """The obligation a paragraph implies, before it is stored."""

    playbook: str
    rule: str | None
    kind: str
    actor_role: str
    actor: str | None
    due_on: dt.date | None


def _matches(rule: Rule, verb: str | None, addressee: str | None, text: str) -> bool:
    if rule.verbs and (verb is None or verb not in rule.verbs):
        return False
    if rule.addressee and (
        addressee is None or fold(addressee) not in {fold(a) for a in rule.addressee}
    ):
        return False
    folded = fold(text)
    return all(any(fold(phrase) in folded for phrase in group) for group in rule.keywords)


def _due_on(due: DueRule, dates: dict[str, dt.date], fallback: DueRule) -> dt.date | None:
    anchor = dates.get(due.anchor)
    if anchor is not None:
        return calendar.shift_days(anchor, due.days)
    base = dates.get(fallback.anchor)
    return calendar.shift_days(base, fallback.days) if base else None


def derive(
    config: PlaybookConfig,
    *,
    verb: str | None,
    addressee: str | None,
    text: str,
    dates: dict[str, dt.date],
) -> Derived:
    """The playbook, actor and due date for one operative paragraph."""
    declaratory = verb is not None and verb in config.declaratory.verbs
    kind = "declaratory" if declaratory else "action"
    actor = addressee
    for rule in config.rules:
        if _matches(rule, verb, addressee, text):
            return Derived(
                playbook=rule.playbook,
                rule=rule.name,
                kind=kind,
                actor_role=config.actor_role(actor),
                actor=actor,
                due_on=_due_on(rule.due, dates, config.default_due),
            )
    due = config.declaratory.due if declaratory else config.default_due
    return Derived(
        playbook=GENERIC_PLAYBOOK,
        rule=None,
        kind=kind,
        actor_role=config.actor_role(actor),
        actor=actor,
        due_on=_due_on(due, dates, config.default_due),
    )


def due_instant(day: dt.date | None) -> dt.datetime | None:
    """The stored (UTC) deadline for a due day, at the configured local time."""
    if day is None:
        return None
    settings = get_settings()
    return calendar.deadline(day, at=settings.due_time, tz=settings.timezone)


def is_overdue(obligation: Obligation, at: dt.datetime | None = None) -> bool:
    """Past its deadline and not finished; derived, never stored."""
    if obligation.due_at is None or obligation.status in {
        ObligationStatus.done,
        ObligationStatus.cancelled,
    }:
        return False
    return obligation.due_at < (at or calendar.now())


def transition(
    session: Session, obligation: Obligation, to: ObligationStatus, *, actor: str, note: str = ""
) -> None:
    """Move an obligation to ``to`` if its lifecycle allows it, and audit the move."""
    current = ObligationStatus(obligation.status)
    if to not in TRANSITIONS[current]:
        raise LifecycleError(
            f"obligation {obligation.id}: cannot go from {current.value} to {to.value}"
        )
    obligation.status = to
    if to is ObligationStatus.done:
        obligation.progress = 100
    obligation.updated_at = utcnow()
    session.add(obligation)
    audit.append(
        session,
        actor=actor,
        kind="obligation.status",
        subject=f"obligation:{obligation.id}",
        payload={"from": current.value, "to": to.value, "note": note},
    )


def reassign(
    session: Session, obligation_id: int, playbook: str, *, actor: str, reason: str = ""
) -> Obligation:
    """Give an obligation another playbook (the secretariat's call, kept across re-ingests)."""
    config = load_playbooks()
    if playbook not in config.playbooks:
        known = ", ".join(sorted(config.playbooks))
        raise ValueError(f"unknown playbook {playbook!r} (known: {known})")
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise LookupError(f"no obligation {obligation_id}")
    if obligation.status in {ObligationStatus.done, ObligationStatus.cancelled}:
        raise LifecycleError(
            f"obligation {obligation_id} is {obligation.status}: nothing to reassign"
        )
    before = obligation.playbook
    obligation.playbook = playbook
    obligation.reassigned = True
    obligation.updated_at = utcnow()
    session.add(obligation)
    audit.append(
        session,
        actor=actor,
        kind="obligation.reassigned",
        subject=f"obligation:{obligation_id}",
        payload={"from": before, "to": playbook, "reason": reason},
    )
    return obligation


def start(session: Session, obligation: Obligation, *, actor: str) -> None:
    """Put a planned obligation in progress (nothing to do if it already is)."""
    if obligation.status == ObligationStatus.planned:
        transition(session, obligation, ObligationStatus.in_progress, actor=actor)


def set_progress(session: Session, obligation: Obligation, percent: int) -> None:
    """Record how far the work is, 0–100; progress never goes backwards.

    One conditional UPDATE, not a write of the figure read earlier: under PostgreSQL's read
    committed two writers can both read 10 %, and the one writing 30 % after the one writing
    60 % would take the obligation back (SQLite's BEGIN IMMEDIATE hid this).
    """
    percent = max(0, min(100, percent))
    # The figure in hand can only be lower than the stored one, never higher.
    if percent <= obligation.progress:
        return
    session.execute(
        sa.update(Obligation)
        .where(col(Obligation.id) == obligation.id, col(Obligation.progress) < percent)
        .values(progress=percent, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(obligation, ["progress", "updated_at"])


# One active run per obligation: the run lease.
#
# A run claims the obligation when it starts and releases it when it ends; a second run
# finds it held and stops at once. Whether a holder is still active is the caller's question
# to Prefect (the core imports no Prefect): a run in a final state, or unknown to the server,
# is not; nor is a run that needs its process (running, or paused in-process) when that
# process is gone from this host, which is how a SIGKILLed `operative run` leaves things —
# Prefect still shows it running, since nothing was left to say otherwise.


@dataclass(frozen=True)
class RunHolder:
    """The run holding an obligation's lease."""

    run_id: str
    since: dt.datetime | None
    process: str | None


def _start_ticks(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None if it is gone or a zombie.

    With the pid alone, a pid reused by a later process would pass for the holder.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: split after its closing one.
    fields = stat.rpartition(")")[2].split()
    state, start = fields[0], fields[19]
    return None if state in {"Z", "X"} else start


def this_process() -> str:
    """This process as a lease names it: ``host:pid:start``."""
    return process_name(os.getpid())


def process_name(pid: int) -> str:
    """A process of this host as ``host:pid:start``: the start time tells it from a later
    process given the same pid."""
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"


def _liveness(process: str | None) -> bool | None:
    """Whether the process a lease names still runs: None when this host cannot tell."""
    if not process:
        return None
    host, _, rest = process.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if Path("/proc").is_dir():
        found = _start_ticks(pid)
        return found is not None and (not start or found == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_gone(process: str | None) -> bool:
    """Whether the process a lease names is known to have ended (only its host can tell)."""
    return _liveness(process) is False


def process_alive(process: str | None) -> bool:
    """Whether the process a lease names is known to run still (only its host can tell)."""
    return _liveness(process) is True


def claim_run(
    session: Session,
    obligation_id: int,
    run_id: str,
    *,
    process: str,
    replacing: str | None = None,
) -> bool:
    """Make ``run_id`` the obligation's active run; False if another run holds it.

    One conditional UPDATE, so two runs cannot both win: on PostgreSQL the second waits for
    the first's row lock and then finds the lease taken; on SQLite ``BEGIN IMMEDIATE`` has
    serialised them already. Without ``replacing``, the lease is claimed when free or held by
    this same run (a suspended run resumed runs again from the top); with it, only from that
    holder, which the caller found no longer active.
    """
    holder = col(Obligation.active_run_id)
    allowed = holder == replacing if replacing else sa.or_(holder.is_(None), holder == run_id)
    claimed = session.execute(
        sa.update(Obligation)
        .where(col(Obligation.id) == obligation_id, allowed)
        .values(active_run_id=run_id, active_since=utcnow(), active_process=process)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def release_run(session: Session, obligation_id: int, run_id: str) -> bool:
    """Free the lease if ``run_id`` holds it; False if it did not (refused, or taken over)."""
    released = session.execute(
        sa.update(Obligation)
        .where(col(Obligation.id) == obligation_id, col(Obligation.active_run_id) == run_id)
        .values(active_run_id=None, active_since=None, active_process=None)
        .execution_options(synchronize_session=False)
    )
    return bool(released.rowcount == 1)  # type: ignore[attr-defined]


def run_holder(session: Session, obligation_id: int) -> RunHolder | None:
    """The run holding the obligation's lease, as committed now."""
    row = session.execute(
        sa.select(
            col(Obligation.active_run_id),
            col(Obligation.active_since),
            col(Obligation.active_process),
        ).where(col(Obligation.id) == obligation_id)
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    return RunHolder(run_id=row[0], since=row[1], process=row[2])
