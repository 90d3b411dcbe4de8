"""Who a message goes to: Member States' missions and internal roles, as outbox recipients.

A recipient's ``ref`` is a tag of the Apprise configuration: the Member State's ISO alpha-3
code, or the role's name. A :class:`~operative.models.Contact` row, where there is one,
overrides the defaults (its ``target_ref``, language and time zone); otherwise a Member State
is written to in its working language at its Geneva mission (``Europe/Zurich``), and a role as
listed in :data:`ROLES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from operative import i18n
from operative.core.clock import GENEVA
from operative.errors import NotFound
from operative.i18n import N_
from operative.models import Contact, MemberState

NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class Role:
    """An internal addressee: its name (in English; the catalogs hold its French and Spanish
    names) and where it sits."""

    name: str
    timezone: str = GENEVA
    language: str = "en"

    def name_in(self, language: str) -> str:
        return i18n.gettext(language, self.name)


ROLES: dict[str, Role] = {
    "director_general": Role(N_("Office of the Director General")),
    "chair": Role(N_("Chairperson of the Council")),
    "pga_office": Role(N_("Office of the President of the General Assembly"), timezone=NEW_YORK),
    "secretariat": Role(N_("Governing Bodies Secretariat")),
    "focal_point": Role(N_("Focal point for the High-level Dialogue")),
}


@dataclass(frozen=True)
class Recipient:
    """One addressee of a message, as the outbox needs it."""

    ref: str
    name: str
    language: str = "en"
    timezone: str = GENEVA
    context: Mapping[str, Any] = field(default_factory=dict)
    # The Member State a recipient speaks for: its ref may be a contact's own tag instead.
    iso3: str | None = None

    def template_vars(self) -> dict[str, Any]:
        """What the templates see as ``recipient``."""
        return {
            "ref": self.ref,
            "name": self.name,
            "language": self.language,
            "timezone": self.timezone,
        }


def _state_name(state: MemberState, language: str) -> str:
    return {"fr": state.name_fr, "es": state.name_es}.get(language, state.name_en)


def member_state_recipients(session: Session, iso3: Iterable[str] | None = None) -> list[Recipient]:
    """The active Member States (or those listed), each in its language, sorted by code."""
    contacts = state_contacts(session)
    return [_state_recipient(state, contacts.get(state.iso3)) for state in _states(session, iso3)]


def _states(session: Session, iso3: Iterable[str] | None) -> Sequence[MemberState]:
    """The active Member States, or those listed (``NotFound`` for one not active)."""
    query = select(MemberState).where(col(MemberState.active)).order_by(col(MemberState.iso3))
    wanted = None if iso3 is None else {code.upper() for code in iso3}
    if wanted is not None:
        query = query.where(col(MemberState.iso3).in_(wanted))
    states = session.exec(query).all()
    missing = set() if wanted is None else wanted - {state.iso3 for state in states}
    if missing:
        raise NotFound(f"no active Member State {', '.join(sorted(missing))}")
    return states


def state_contacts(session: Session) -> dict[str, Contact]:
    """The active contact of each Member State that has one (the mission's own address)."""
    return {
        contact.member_state_iso3: contact
        for contact in session.exec(
            select(Contact).where(
                col(Contact.active),
                col(Contact.member_state_iso3).is_not(None),
                col(Contact.role).is_(None),
            )
        )
        if contact.member_state_iso3 is not None
    }


def _state_recipient(state: MemberState, contact: Contact | None) -> Recipient:
    language = contact.language if contact else state.language
    return Recipient(
        ref=contact.target_ref if contact else state.iso3,
        name=_state_name(state, language),
        language=language,
        timezone=contact.timezone if contact else GENEVA,
        iso3=state.iso3,
    )


def role_recipient(session: Session, role: str) -> Recipient:
    """The holder of an internal role (``secretariat``, ``chair``, ``pga_office``…)."""
    contact = session.exec(
        select(Contact).where(col(Contact.active), Contact.role == role).order_by(col(Contact.id))
    ).first()
    default = ROLES.get(role)
    if contact is None and default is None:
        raise NotFound(f"unknown role {role!r} (known: {', '.join(sorted(ROLES))})")
    language = contact.language if contact else (default.language if default else "en")
    name = default.name_in(language) if default else role
    return Recipient(
        ref=contact.target_ref if contact else role,
        name=contact.name if contact else name,
        language=language,
        timezone=contact.timezone if contact else (default.timezone if default else GENEVA),
    )
