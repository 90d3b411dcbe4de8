"""Prefect tasks: thin wrappers over the core, grouped by what they touch.

Each task is one unit of work in one database transaction; retries cover only what is
transient (a locked or dropped database connection, a channel that did not answer).
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NONE


def transient_database_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry when the database was busy or the connection dropped, not on a logic error."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        state.result()
    except OperationalError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:
        return False
    return False


# Every task that reads or writes the register: retried on a transient database error, and
# never served from Prefect's cache — the register changes between two calls with the same
# arguments (a decision recorded meanwhile), so a cached answer would be a wrong one.
REGISTER: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": 1,
    "retry_condition_fn": transient_database_error,
    "cache_policy": NONE,
}
