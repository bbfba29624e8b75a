"""A rate limit per token, held in the database so that it counts across worker processes without Redis.

Each call adds one to the (token, minute) counter with a single atomic UPSERT (INSERT … ON CONFLICT DO UPDATE …
RETURNING, on SQLite and PostgreSQL alike); the first call of a minute deletes the windows before the previous one.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.access.models import ApiRateWindow
from db import utcnow
from ehealth.errors import DomainError

RATE_LIMITED = "Too many requests for this token; retry after {seconds} seconds."
WINDOW_SECONDS = 60


class RateLimited(DomainError):
    """The token made more calls this minute than allowed; `retry_after` is the number of seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(RATE_LIMITED, seconds=retry_after)
        self.retry_after = retry_after


def window_of(now: datetime) -> int:
    """The minute `now` falls in (minutes since the epoch)."""
    return int(now.timestamp() // WINDOW_SECONDS)


def hit(session: Session, token_id: int, limit: int, *, now: datetime | None = None) -> int:
    """Count one call of the token in the current minute and return the count so far; RateLimited past `limit`.

    The count is written (and kept) even when the call is refused; the caller commits it with the audit row."""
    at = now or utcnow()
    window = window_of(at)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(ApiRateWindow).values(token_id=token_id, window_minute=window, calls=1)
    counted = upsert.on_conflict_do_update(
        index_elements=[ApiRateWindow.token_id, ApiRateWindow.window_minute],
        set_={"calls": ApiRateWindow.calls + 1},
    ).returning(ApiRateWindow.calls)
    calls: int = session.execute(counted).scalar_one()
    if calls == 1:
        # Once per token and minute: forget the windows no call will count against any more.
        session.execute(delete(ApiRateWindow).where(ApiRateWindow.window_minute < window - 1))
    if calls > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - at.timestamp()))
        raise RateLimited(retry_after)
    return calls
