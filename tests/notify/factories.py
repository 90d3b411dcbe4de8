"""Plain functions that build what the notification tests need."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from operative.core.db import get_engine
from operative.core.settings import get_settings
from operative.register.bootstrap import load_member_states

RESOLUTION = {"number": "1244 (CI)", "title": "IOM and the United Nations High-level Dialogue"}


def invitation_context(**overrides: Any) -> dict[str, Any]:
    """What an invitation to share national positions needs."""
    return {
        "resolution": RESOLUTION,
        "paragraph": "4",
        "deadline": dt.datetime(2013, 8, 9, 16, 0, tzinfo=dt.UTC),
        "link": "https://operative.example.org/positions/token",
        **overrides,
    }


def load_states(url: str) -> None:
    """The 175 Member States of the shipped CSV, in the database at ``url``."""
    with Session(get_engine(url)) as session:
        load_member_states(session, get_settings().config_dir / "member_states.csv")
        session.commit()


def write_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, name: str = "apprise.yml"
) -> Path:
    """An Apprise YAML file, made the one operative reads (OPERATIVE_APPRISE_CONFIG)."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("OPERATIVE_APPRISE_CONFIG", str(path))
    return path


def all_states_tags() -> str:
    """Every Member State's code, as one Apprise tag list."""
    import csv

    with (get_settings().config_dir / "member_states.csv").open(encoding="utf-8") as handle:
        return ", ".join(row["iso3"] for row in csv.DictReader(handle))
