"""Prefect tasks: thin wrappers over the core, grouped by what they touch.

Each task is one unit of work in one database transaction; retries cover only what is
transient (a locked or dropped database connection, a channel that did not answer).
"""

from __future__ import annotations

from typing import Any


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
