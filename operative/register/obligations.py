"""Obligations: derived from operative paragraphs by the rules of ``config/playbooks.yaml``,
moved through their lifecycle in one place, and reassigned by the secretariat.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col

from operative.core import audit, clock
from operative.core.configfile import load_yaml_model
from operative.core.settings import get_settings
from operative.errors import Conflict, Invalid, NotFound
from operative.models import FINISHED, Obligation, ObligationStatus
from operative.playbooks import Playbook

GENERIC_PLAYBOOK = Playbook.track_obligation

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


class ConfigError(Invalid):
    """The playbook configuration is not usable; the message names the offending key."""


class LifecycleError(Conflict):
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
            raise ValueError(
                f"playbooks: the generic playbook {GENERIC_PLAYBOOK.value!r} is missing"
            )
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
        return clock.shift_days(anchor, due.days)
    base = dates.get(fallback.anchor)
    return clock.shift_days(base, fallback.days) if base else None


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
    return clock.deadline(day, at=settings.due_time, tz=settings.timezone)


def is_overdue(obligation: Obligation, at: dt.datetime | None = None) -> bool:
    """Past its deadline and not finished; derived, never stored."""
    if obligation.due_at is None or obligation.status in FINISHED:
        return False
    return obligation.due_at < (at or clock.now())


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
    obligation.updated_at = clock.now()
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
        raise Invalid(f"unknown playbook {playbook!r} (known: {known})")
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFound(f"no obligation {obligation_id}")
    if obligation.status in FINISHED:
        raise LifecycleError(
            f"obligation {obligation_id} is {obligation.status}: nothing to reassign"
        )
    before = obligation.playbook
    obligation.playbook = playbook
    obligation.reassigned = True
    obligation.updated_at = clock.now()
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
        .values(progress=percent, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.refresh(obligation, ["progress", "updated_at"])


def next_action(
    status: str,
    playbook: str,
    *,
    approval: tuple[int, str, str] | None = None,
    failed: int = 0,
    positions: tuple[int, int, int] = (0, 0, 0),
) -> str:
    """What has to happen next for an obligation, in a few words for the secretariat.

    ``approval`` is the first decision it waits for (approval id, step, role asked),
    ``failed`` how many of its deliveries failed, ``positions`` its national positions
    (invited, received, received but not reviewed).
    """
    state = ObligationStatus(status)
    if state is ObligationStatus.cancelled:
        return "None: cancelled"
    if approval is not None:
        number, step, role = approval
        return f"Decision by {role.replace('_', ' ')} ({step}, approval {number})"
    if failed:
        return f"Retry {failed} failed {'delivery' if failed == 1 else 'deliveries'}"
    if state is ObligationStatus.done:
        return "None: done"
    if state is ObligationStatus.planned:
        return f"Start the {playbook} flow"
    if playbook == Playbook.national_positions:
        invited, received, unreviewed = positions
        if unreviewed:
            return f"Review {unreviewed} received national positions"
        return f"Collect national positions ({received} of {invited} received)"
    if state is ObligationStatus.awaiting_approval:
        return "Run the flow again: the decision is in the register"
    return f"Run the {playbook} flow again to carry on"
