"""First use: the data dir, the database at the newest migration, and the Member States."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from operative.core import audit
from operative.core.settings import get_settings
from operative.models import MemberState
from operative.register.member_states import read_csv


@dataclass(frozen=True)
class InitResult:
    data_dir: Path
    database: str
    member_states_added: int
    member_states_updated: int
    member_states_total: int


def load_member_states(session: Session, path: Path, *, actor: str = "cli") -> tuple[int, int]:
    """Insert or update the Member States listed in ``path``; returns (added, updated)."""
    rows = read_csv(path)
    existing = {state.iso3: state for state in session.exec(select(MemberState))}
    added = updated = 0
    for row in rows:
        values: dict[str, object] = {
            "name_en": row.name_en,
            "name_fr": row.name_fr,
            "name_es": row.name_es,
            "language": row.language,
            "joined_year": row.joined_year,
            "member_in_2012": row.member_in_2012,
        }
        state = existing.get(row.iso3)
        if state is None:
            session.add(MemberState.model_validate({"iso3": row.iso3, **values}))
            added += 1
        elif any(getattr(state, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(state, name, value)
            session.add(state)
            updated += 1
    if added or updated:
        audit.append(
            session,
            actor=actor,
            kind="member_states.loaded",
            subject="member_states",
            payload={"source": path.name, "added": added, "updated": updated},
        )
    return added, updated


def init(session: Session) -> InitResult:
    """Make the data dir and load the shipped Member States (the database is migrated on open)."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    added, updated = load_member_states(session, settings.config_dir / "member_states.csv")
    session.flush()
    total = len(session.exec(select(MemberState.iso3)).all())
    return InitResult(
        settings.data_dir, _masked_url(settings.effective_database_url), added, updated, total
    )


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
