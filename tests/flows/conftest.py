"""Helpers to drive flows in tests, against the session's Prefect server.

The server (``prefect_server``, in tests/conftest.py so that tests/reliability shares it) is
a ``prefect server start`` process on loopback, started once; each test still has its own
operative data dir and database.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from operative.core.db import session_scope
from operative.models import Obligation
from operative.register import approvals, bootstrap, users
from operative.register.ingest import ingest
from operative.resolution import parse_file
from tests.conftest import SEED


def register_1244() -> None:
    """1244 ingested (with its HLD dates) into the configured database, and a user per role."""
    with session_scope() as session:
        bootstrap.init(session)
        ingest(
            session,
            parse_file(SEED),
            source_name=SEED.name,
            source_text=SEED.read_text(encoding="utf-8"),
            dates={"hld": dt.date(2013, 10, 3), "hld_end": dt.date(2013, 10, 4)},
        )
        for username, roles in {
            "officer": ["officer"],
            "officer2": ["officer"],
            "chair": ["chair"],
            "chair2": ["chair"],
            "dg": ["director_general"],
            "viewer": ["viewer"],
        }.items():
            users.add_user(session, username, name=username.title(), roles=roles)


@pytest.fixture
def flows_env(prefect_server: str, isolated_env: Path) -> Iterator[Path]:
    """A fresh register with 1244 ingested, users for every role, and flow settings on."""
    from flows._prefect.runtime import flow_settings

    register_1244()
    with flow_settings():
        yield isolated_env


def obligation_id(playbook: str) -> int:
    """The id of 1244's obligation that follows ``playbook``."""
    from sqlmodel import select

    with session_scope() as session:
        found = session.exec(select(Obligation).where(Obligation.playbook == playbook)).one()
        assert found.id is not None
        return found.id


@dataclass
class ScriptedApprover:
    """Decides pending approvals in a background thread, as people would, and resumes the run.

    ``script`` is a list of (username, approve, reason), used in order.
    """

    script: list[tuple[str, bool, str]]
    # Decide only once the run is paused, so the decision travels by token, not the register.
    wait_paused: bool = False
    decided: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> ScriptedApprover:
        thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._loop,), daemon=True
        )
        thread.start()
        self._thread = thread
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        from flows._prefect.runtime import resume_with_decision

        while not self._stop.is_set() and self.script:
            with session_scope() as session:
                waiting = [a for a in approvals.pending(session) if a.flow_run_id]
            for approval in waiting:
                if not self.script:
                    break
                if self.wait_paused and not _is_paused(approval.flow_run_id or ""):
                    continue
                username, approve, reason = self.script.pop(0)
                try:
                    with session_scope() as session:
                        decided = approvals.decide(
                            session,
                            approval.id or 0,
                            username=username,
                            approve=approve,
                            reason=reason,
                        )
                except approvals.ApprovalError as exc:
                    self.errors.append(str(exc))
                    continue
                self.decided.append(approval.id or 0)
                resume_with_decision(approval.flow_run_id or "", approval.id or 0, decided.token)
            time.sleep(0.05)


def _is_paused(flow_run_id: str) -> bool:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    return state is not None and state.is_paused()


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start ``fn`` in a daemon thread carrying this context; returns the thread and a result box."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), daemon=True)
    thread.start()
    return thread, box


def artifacts_of(flow_run_id: str) -> list[Any]:
    """Every artifact a flow run published, read back from the Prefect server."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
