"""What officers record against an obligation: engagement activities (1244 OP2) and facts
such as an acknowledgement, a use of a statement, or evidence that work is done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from operative.core import audit, clock
from operative.core.settings import get_settings
from operative.errors import Invalid, NotFound
from operative.models import Activity, Obligation, Record
from operative.playbooks import Playbook

RECORD_KINDS = ("acknowledgement", "usage", "affirmation", "evidence", "note", "revision")
ACTIVITY_KINDS = (
    "consultation",
    "dialogue",
    "panel",
    "side_event",
    "survey",
    "workshop",
    "publication",
    "other",
)


def _obligation(session: Session, obligation_id: int) -> Obligation:
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFound(f"no obligation {obligation_id}")
    return obligation


def add_record(
    session: Session,
    obligation_id: int,
    *,
    kind: str,
    text: str,
    actor: str,
    reference: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> Record:
    """Record a fact against an obligation."""
    _obligation(session, obligation_id)
    if kind not in RECORD_KINDS:
        raise Invalid(f"record kind {kind!r}: expected one of {', '.join(RECORD_KINDS)}")
    text = " ".join(text.split())
    if not text:
        raise Invalid("a record needs a text")
    now = clock.now()
    return audit.write(
        session,
        Record(
            obligation_id=obligation_id,
            kind=kind,
            text=text,
            reference=reference,
            occurred_at=occurred_at or now,
            recorded_by=actor,
            recorded_at=now,
        ),
        actor=actor,
        kind=f"record.{kind}",
        event=lambda record: (
            f"obligation:{obligation_id}",
            {"record": record.id, "text": text, "reference": reference},
        ),
    )


def records(session: Session, obligation_id: int, kind: str | None = None) -> list[Record]:
    """The records of an obligation, oldest first."""
    query = select(Record).where(Record.obligation_id == obligation_id)
    if kind:
        query = query.where(Record.kind == kind)
    return list(session.exec(query.order_by(col(Record.occurred_at), col(Record.id))))


def add_activity(
    session: Session,
    obligation_id: int,
    *,
    occurred_on: dt.date,
    kind: str,
    title: str,
    migrants_spoke: bool,
    actor: str,
    evidence_url: str | None = None,
) -> Activity:
    """Log an engagement activity for the migrants' perspectives obligation."""
    obligation = _obligation(session, obligation_id)
    if obligation.playbook != Playbook.migrant_perspectives:
        raise Invalid(f"obligation {obligation_id} does not log engagement activities")
    if kind not in ACTIVITY_KINDS:
        raise Invalid(f"activity kind {kind!r}: expected one of {', '.join(ACTIVITY_KINDS)}")
    title = " ".join(title.split())
    if not title:
        raise Invalid("an activity needs a title")
    if evidence_url and not evidence_url.startswith(("https://", "http://")):
        raise Invalid(f"evidence {evidence_url!r}: expected an http(s) link")
    if occurred_on > clock.now().in_timezone(get_settings().timezone).date():
        raise Invalid(f"activity date {occurred_on} is in the future")
    return audit.write(
        session,
        Activity(
            obligation_id=obligation_id,
            occurred_on=occurred_on,
            kind=kind,
            title=title,
            migrants_spoke=migrants_spoke,
            evidence_url=evidence_url,
            recorded_by=actor,
            recorded_at=clock.now(),
        ),
        actor=actor,
        kind="activity.recorded",
        event=lambda activity: (
            f"obligation:{obligation_id}",
            {
                "activity": activity.id,
                "on": occurred_on.isoformat(),
                "kind": kind,
                "migrants_spoke": migrants_spoke,
            },
        ),
    )


@dataclass(frozen=True)
class Gap:
    """A stretch with no activity in which migrants themselves spoke."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def lapses(activities: list[Activity], *, since: dt.date, until: dt.date, weeks: int) -> list[Gap]:
    """Every stretch longer than ``weeks`` between ``since`` and ``until`` without an activity
    where migrants themselves spoke: the cadence the resolution's "sustained attention" asks for.
    """
    limit = dt.timedelta(weeks=weeks)
    days = sorted(
        {a.occurred_on for a in activities if a.migrants_spoke and since <= a.occurred_on <= until}
    )
    gaps = []
    previous = since
    for day in [*days, until]:
        if day - previous > limit:
            gaps.append(Gap(previous, day))
        previous = day
    return gaps


def activities(session: Session, obligation_id: int) -> list[Activity]:
    """The engagement activities logged against an obligation, oldest first."""
    return list(
        session.exec(
            select(Activity)
            .where(Activity.obligation_id == obligation_id)
            .order_by(col(Activity.occurred_on), col(Activity.id))
        )
    )


@dataclass(frozen=True)
class Engagement:
    """The engagement record over a period: its activities and where attention lapsed."""

    since: dt.date
    until: dt.date
    weeks: int
    activities: tuple[Activity, ...]
    lapses: tuple[Gap, ...]

    @property
    def with_migrants(self) -> int:
        """How many activities gave migrants themselves a voice."""
        return sum(1 for activity in self.activities if activity.migrants_spoke)

    @property
    def share_with_migrants(self) -> float:
        """The share (0–1) of activities in which migrants themselves spoke."""
        return self.with_migrants / len(self.activities) if self.activities else 0.0

    def is_open(self, gap: Gap) -> bool:
        """Whether a lapse still runs at the end of the period (nothing has closed it yet)."""
        return gap.end == self.until and not any(
            a.migrants_spoke and a.occurred_on == self.until for a in self.activities
        )


def engagement(
    session: Session, obligation_id: int, *, since: dt.date, until: dt.date, weeks: int
) -> Engagement:
    """The activities between ``since`` and ``until`` (inclusive) and the lapses of cadence."""
    if weeks < 1:
        raise Invalid(f"a cadence of {weeks} weeks: expected at least 1")
    if until < since:
        raise Invalid(f"period from {since} to {until}: it ends before it starts")
    within = tuple(a for a in activities(session, obligation_id) if since <= a.occurred_on <= until)
    return Engagement(
        since=since,
        until=until,
        weeks=weeks,
        activities=within,
        lapses=tuple(lapses(list(within), since=since, until=until, weeks=weeks)),
    )
