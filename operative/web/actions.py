"""What the pages and the API do: each action once, over the core, for both.

Rules stay in the core: a decision and the resume of the run waiting for it is
:func:`operative.orchestration.decide_and_resume` (the CLI's ``approve`` calls it too), a retry is
:func:`operative.notify.outbox.retry`, a reassignment
:func:`operative.register.obligations.reassign`, a review
:func:`operative.playbooks.national_positions.review`. The web layer adds who is signed in, the
order of commit-then-notify, and the background run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from operative.core import audit, clock, processes
from operative.errors import Conflict, NotFound
from operative.models import Delivery, Obligation, ObligationStatus, Paragraph
from operative.playbooks import national_positions as positions
from operative.register import obligations
from operative.web.auth import Principal


def retry_delivery(session: Session, delivery_id: int, *, user: Principal) -> Delivery:
    """Give a failed delivery new attempts (committed); the caller sends it."""
    from operative.notify.outbox import retry

    delivery = retry(session, delivery_id, actor=user.username)
    session.commit()
    return delivery


def send_now(delivery_id: int, database_url: str) -> bool:
    """Send one due delivery now (blocking: call it from a worker thread)."""
    from operative.notify.dispatch import dispatch_pending

    return dispatch_pending(database_url=database_url, only=[delivery_id]).sent > 0


def reassign(
    session: Session, obligation_id: int, *, user: Principal, playbook: str, reason: str
) -> Obligation:
    obligation = obligations.reassign(
        session, obligation_id, playbook.strip(), actor=user.username, reason=reason.strip()
    )
    session.commit()
    return obligation


def review(
    session: Session, obligation_id: int, iso3: str, *, user: Principal, verdict: str
) -> None:
    positions.review(session, obligation_id, iso3, verdict=verdict, reviewer=user.username)
    session.commit()


# --- starting a flow run ----------------------------------------------------------------------

# ``python -m operative``: the same command an officer would type, in a process of its own.
DEFAULT_RUN_COMMAND: tuple[str, ...] = (sys.executable, "-m", "operative")


@dataclass(frozen=True)
class Launched:
    obligation_id: int
    playbook: str
    pid: int
    log: Path


def _runs_dir(data_dir: Path) -> Path:
    folder = data_dir / "web-runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def running_pid(data_dir: Path, obligation_id: int) -> int | None:
    """The process of a run started from the web for this obligation, if it still runs.

    The marker names the process as a run lease does (``host:pid:start``), so a pid that a
    later process was given, or a run's zombie, does not pass for the run.
    """
    marker = data_dir / "web-runs" / f"obligation-{obligation_id}.pid"
    try:
        process = marker.read_text(encoding="ascii").strip()
    except OSError:
        return None
    if not processes.process_alive(process):
        return None
    return processes.process_pid(process)


def _spawn(argv: Sequence[str], log_path: Path, data_dir: Path) -> int:
    env = {**os.environ, "OPERATIVE_DATA_DIR": str(data_dir)}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a stop of the web server must not stop the run
        )
    # Reap it when it ends, so a long-lived server collects no zombies.
    threading.Thread(target=process.wait, daemon=True, name=f"reap-{process.pid}").start()
    return process.pid


def trigger_run(
    session: Session,
    obligation_id: int,
    *,
    user: Principal,
    data_dir: Path,
    command: Sequence[str] = DEFAULT_RUN_COMMAND,
) -> Launched:
    """Start ``operative run PLAYBOOK --obligation ID --as USER`` in the background.

    The trigger is audited (who, which playbook, the log file) in the same transaction that
    is committed once the process has started; a start that fails records nothing.
    """
    obligation = session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFound(f"no obligation {obligation_id}")
    if obligation.status == ObligationStatus.cancelled:
        raise obligations.LifecycleError(f"obligation {obligation_id} is cancelled: nothing to run")
    paragraph = session.get(Paragraph, obligation.paragraph_id)
    assert paragraph is not None
    pid = running_pid(data_dir, obligation_id)
    if pid is not None:
        raise Conflict(
            f"a run of {obligation.playbook} for obligation {obligation_id} is still going "
            f"(process {pid})"
        )
    folder = _runs_dir(data_dir)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    log = folder / f"obligation-{obligation_id}-{stamp}.log"
    argv = [
        *command,
        "run",
        obligation.playbook,
        "--resolution",
        str(paragraph.resolution_id),
        "--obligation",
        str(obligation_id),
        "--as",
        user.username,
    ]
    audit.append(
        session,
        actor=user.username,
        kind="flow.triggered",
        subject=f"obligation:{obligation_id}",
        payload={"playbook": obligation.playbook, "via": "web", "log": log.name},
    )
    try:
        pid = _spawn(argv, log, data_dir)
    except OSError as exc:
        session.rollback()
        raise Conflict(f"could not start the run: {exc.strerror or exc}") from None
    session.commit()
    marker = folder / f"obligation-{obligation_id}.pid"
    with suppress(OSError):
        marker.write_text(processes.process_name(pid), encoding="ascii")
    return Launched(obligation_id, obligation.playbook, pid, log)
