"""Query parameters shared by the list endpoints: dates written exactly as YYYY-MM-DD, bounded offsets.

FastAPI's `date` parameters also take timestamps ("2024-01-01T00:00:00") that the OpenAPI
`format: date` does not allow, so a client reading the schema and the server would disagree;
these are strings with that format, parsed here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Path, Query

from .errors import ApiError

MAX_OFFSET = 2**31 - 1  # beyond any page, and within every database's integer
MAX_ROW_ID = 2**31 - 1  # ids are database integers: a bigger one names nothing (and PostgreSQL would refuse it)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
RowId = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]


def parse_date(name: str, value: str | None) -> dt.date | None:
    """A YYYY-MM-DD query parameter (exactly that: not a timestamp, not another ISO form); 422 otherwise."""
    if value is None:
        return None
    if not DATE.fullmatch(value):
        raise ApiError(422, "invalid_request", f"{name}: {value[:40]!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"{name}: {value!r} is not a real date ({exc})") from None
