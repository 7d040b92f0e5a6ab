"""Fixed-window counters kept in PostgreSQL, so every app process shares them (core store)."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable


class RateLimitCounter(CoreTable, table=True):
    __tablename__ = "rate_limits"

    # What is counted, e.g. "otp:phone:0912000001".
    key: str = Field(primary_key=True, max_length=120)
    window_start: datetime = Field(sa_type=sa.DateTime(timezone=True))
    hits: int


@dataclass(frozen=True)
class Hit:
    count: int
    retry_after: int

    def over(self, limit: int) -> bool:
        return self.count > limit


_HIT = sa.text(
    """
    INSERT INTO core.rate_limits AS r (key, window_start, hits)
    VALUES (:key, now(), 1)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN r.window_start <= now() - make_interval(secs => :window)
                    THEN 1 ELSE r.hits + 1 END,
        window_start = CASE WHEN r.window_start <= now() - make_interval(secs => :window)
                            THEN now() ELSE r.window_start END
    RETURNING hits, window_start, now() AS now
    """
)


async def hit(core: AsyncConnection, key: str, window: timedelta) -> Hit:
    """Count one hit on key and say how many the current window holds."""
    seconds = window.total_seconds()
    row = (await core.execute(_HIT, {"key": key, "window": seconds})).one()
    remaining = (row.window_start + window - row.now).total_seconds()
    return Hit(count=row.hits, retry_after=max(1, math.ceil(remaining)))


_HIT_MANY = """
    INSERT INTO core.rate_limits AS r (key, window_start, hits)
    SELECT key, now(), 1 FROM unnest($1::varchar[]) AS key
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN r.window_start <= now() - make_interval(secs => $2)
                    THEN 1 ELSE r.hits + 1 END,
        window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $2)
                            THEN now() ELSE r.window_start END
    RETURNING key, hits, window_start, now() AS now
"""


async def hit_many(core: asyncpg.Connection, keys: list[str], window: timedelta) -> dict[str, Hit]:
    """Count one hit on each key in one statement (one round trip, keys in a fixed order
    so that concurrent callers lock them alike). On a plain asyncpg connection: every
    request counts, and SQLAlchemy's layers cost more than the statement."""
    rows = await core.fetch(_HIT_MANY, sorted(keys), window.total_seconds())
    return {
        row["key"]: Hit(
            count=row["hits"],
            retry_after=max(
                1, math.ceil((row["window_start"] + window - row["now"]).total_seconds())
            ),
        )
        for row in rows
    }


async def purge_counters(core: AsyncConnection, older_than: timedelta) -> int:
    table = RateLimitCounter.__table__
    statement = sa.delete(table).where(table.c.window_start < sa.func.now() - older_than)
    return (await core.execute(statement)).rowcount or 0
