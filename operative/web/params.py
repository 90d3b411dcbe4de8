"""Path and query parameters the pages and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query

from operative.web.queries import DEFAULT_LIMIT, MAX_LIMIT

# Row ids are PostgreSQL integers: a larger id or offset reached the driver and failed there
# (a 500, an OverflowError on SQLite) instead of being refused as bad input.
MAX_ID = 2**31 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most 200.")]


@dataclass(frozen=True)
class Window:
    """The slice of a list asked for: ``limit`` items from ``offset``."""

    limit: int
    offset: int


# No I/O: async, so FastAPI does not hop to a worker thread for it.
async def _window(limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Window:
    return Window(limit, offset)


# ``?limit=…&offset=…``: last among a route's query parameters, wherever it is declared
# (FastAPI lists a dependency's parameters after the route's own).
Shown = Annotated[Window, Depends(_window)]
