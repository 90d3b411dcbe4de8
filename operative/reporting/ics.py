"""The deadlines as an iCalendar file: one event per open obligation, with a stable UID so a
calendar that subscribes to the feed updates events instead of duplicating them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from operative.core import clock
from operative.models import FINISHED, Obligation, Paragraph, Resolution


def deadlines_ics(session: Session, *, host: str = "operative.local") -> bytes:
    """Every deadline of an obligation not done or cancelled, as an iCalendar document."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//operative//deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "operative: deadlines")
    rows = session.exec(
        select(Obligation, Paragraph, Resolution)
        .join(Paragraph, col(Obligation.paragraph_id) == col(Paragraph.id))
        .join(Resolution, col(Paragraph.resolution_id) == col(Resolution.id))
        .where(
            col(Obligation.due_at).is_not(None),
            col(Obligation.status).notin_(FINISHED),
        )
        .order_by(col(Obligation.due_at))
    ).all()
    stamp = clock.now()
    for obligation, paragraph, resolution in rows:
        event = Event()
        event.add("uid", f"obligation-{obligation.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", obligation.due_at)
        event.add("dtend", obligation.due_at)
        event.add(
            "summary",
            f"{resolution.body} {resolution.number}, OP{paragraph.num}: {obligation.playbook}",
        )
        event.add(
            "description",
            f"{paragraph.verb_text or ''} {paragraph.addressee or ''}: {paragraph.text}\n"
            f"Status: {obligation.status} ({obligation.progress}%)",
        )
        event.add("categories", [obligation.playbook])
        calendar.add_component(event)
    return bytes(calendar.to_ical())
