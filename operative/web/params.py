"""Path and query parameters the pages and the API share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

# Row ids are PostgreSQL integers: a larger id or offset reached the driver and failed there
# (a 500, an OverflowError on SQLite) instead of being refused as bad input.
MAX_ID = 2**31 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
