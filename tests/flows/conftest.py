"""Helpers to drive flows in tests, against the session's Prefect server.

The server (``prefect_server``, in tests/conftest.py so that tests/reliability shares it) is
a ``prefect server start`` process on loopback, started once; each test still has its own
operative data dir and database.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlmodel import select

from operative.core import clock as calendar
from operative.core.db import session_scope
from operative.models import Approval, Obligation
from operative.register import approvals, records
from tests.factories import FLOW_PEOPLE, obligation_of, register_1244


def register_for_flows() -> None:
    """1244 registered in the configured database, with the flow tests' people."""
    with session_scope() as session:
        register_1244(session, people=FLOW_PEOPLE)


@pytest.fixture
def flows_env(prefect_server: str, isolated_env: Path) -> Iterator[Path]:
    """A fresh register with 1244 ingested, users for every role, and flow settings on."""
    from flows._prefect.runtime import flow_settings

    register_for_flows()
    with flow_settings():
        yield isolated_env


def obligation_id(playbook: str) -> int:
    """The id of 1244's obligation that follows ``playbook``."""
    with session_scope() as session:
        found = obligation_of(session, playbook).id
        assert found is not None
        return found


def obligation(ob: int) -> Obligation:
    """Obligation ``ob`` as committed now."""
    with session_scope() as session:
        found = session.get(Obligation, ob)
        assert found is not None
        return found


def officer_records(ob: int, kind: str, text: str) -> None:
    """The officer records ``kind`` on obligation ``ob``: what many playbooks wait for."""
    with session_scope() as session:
        records.add_record(session, ob, kind=kind, text=text, actor="officer")


@contextmanager
def on(*when: int) -> Iterator[pendulum.DateTime]:
    """Run the block on a business clock stopped at ``when`` (UTC)."""
    moment = pendulum.datetime(*when, tz="UTC")
    with calendar.use_clock(lambda: moment):
        yield moment


@contextmanager
def four_eyes(drafter: str, *, refused: list[str], decider: str, role: str) -> Iterator[None]:
    """The block's run asks for one approval; the drafter and then each of ``refused`` try to
    decide it and are refused (the drafter for drafting it, the others for lacking ``role``),
    then ``decider`` approves it."""
    script = [(username, True, "") for username in (drafter, *refused, decider)]
    with ScriptedApprover(script) as approver:
        yield
    assert len(approver.errors) == 1 + len(refused)
    assert f"{drafter} drafted what approval" in approver.errors[0]
    assert all(f"needs the role '{role}'" in e for e in approver.errors[1:])
    with session_scope() as session:
        assert session.exec(select(Approval)).one().decided_by == decider


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
