"""Which process holds something, and whether it still runs.

A run lease, the web's marker of a run it started and a dispatcher's claim on a delivery all
name their process the same way, ``host:pid:start`` (:func:`this_process`, :func:`process_name`);
a claim may add its own suffix after a further colon. The start time (clock ticks since boot,
from ``/proc``) tells the holder from a later process given the same pid. Only the holder's
host can tell whether it still runs: elsewhere the answer is "cannot tell", and the caller's
lease decides.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """When process ``pid`` started, or None if it is gone or a zombie (which does nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: split after its closing one.
    fields = stat.rpartition(")")[2].split()
    state, start = fields[0], fields[19]
    return None if state in {"Z", "X"} else start


def process_name(pid: int) -> str:
    """A process of this host as ``host:pid:start``."""
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"


def this_process() -> str:
    """This process as ``host:pid:start``."""
    return process_name(os.getpid())


def process_pid(process: str) -> int | None:
    """The pid a process name holds, or None if it holds none."""
    pid = process.partition(":")[2].partition(":")[0]
    return int(pid) if pid.isdigit() else None


def _liveness(process: str | None) -> bool | None:
    """Whether the named process still runs: None when this host cannot tell."""
    if not process:
        return None
    host, _, rest = process.partition(":")
    start = rest.partition(":")[2].partition(":")[0]
    pid = process_pid(process)
    if host != socket.gethostname() or pid is None:
        return None
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
    """Whether the named process is known to have ended (only its host can tell)."""
    return _liveness(process) is False


def process_alive(process: str | None) -> bool:
    """Whether the named process is known to run still (only its host can tell)."""
    return _liveness(process) is True
