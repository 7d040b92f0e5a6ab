"""Fixed-window counters kept in PostgreSQL, so every app process shares them (core store)."""

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable
from models.stores import Engines, Store

log = logging.getLogger("healthgraph.ratelimit")


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


_ADD_HITS = """
    INSERT INTO core.rate_limits AS r (key, window_start, hits)
    SELECT added.key, now(), added.n FROM unnest($1::varchar[], $2::integer[]) AS added(key, n)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN r.window_start <= now() - make_interval(secs => $3)
                    THEN EXCLUDED.hits ELSE r.hits + EXCLUDED.hits END,
        window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $3)
                            THEN now() ELSE r.window_start END
    RETURNING key, hits, window_start, now() AS now
"""


async def add_hits(
    core: asyncpg.Connection, counts: Mapping[str, int], window: timedelta
) -> dict[str, Hit]:
    """Add each key's count in one statement (one round trip, keys in a fixed order so
    that concurrent callers lock them alike) and say what each window now holds. On a
    plain asyncpg connection: requests count, and SQLAlchemy's layers cost more than
    the statement."""
    keys = sorted(counts)
    rows = await core.fetch(_ADD_HITS, keys, [counts[k] for k in keys], window.total_seconds())
    return {
        row["key"]: Hit(
            count=row["hits"],
            retry_after=max(
                1, math.ceil((row["window_start"] + window - row["now"]).total_seconds())
            ),
        )
        for row in rows
    }


@dataclass
class _Known:
    count: int
    # time.monotonic() at which the window the count belongs to ends.
    ends: float


class RequestCounts:
    """Request counters shared by every process, written in batches.

    A key's hits are kept here and added to the core store every `flush_seconds`
    while this process's estimate (the store's count at the last write, plus the hits
    kept since) stays within half the key's limit; past that, and for a key this
    process has not counted yet, each hit is written before it is answered, so the
    decision is the store's. What another process has kept but not written yet (at
    most half a limit, for at most one flush) is all a decision can miss.
    """

    def __init__(self, engines: Engines, window: timedelta, flush_seconds: float) -> None:
        self._engines = engines
        self._window = window
        self._flush_seconds = flush_seconds
        self._known: dict[str, _Known] = {}
        self._pending: Counter[str] = Counter()

    def _estimate(self, key: str, now: float) -> int | None:
        known = self._known.get(key)
        if known is None:
            return None
        return (known.count if now < known.ends else 0) + self._pending[key] + 1

    async def hit(self, limits: Mapping[str, int]) -> dict[str, Hit]:
        """Count one hit on each key; what each window holds (as far as this process
        knows when the hit is only kept)."""
        now = time.monotonic()
        estimates = {key: self._estimate(key, now) for key in limits}
        if all(e is not None and 2 * e <= limits[k] for k, e in estimates.items()):
            self._pending.update(limits.keys())
            return {
                key: Hit(count=int(estimate or 0), retry_after=1)
                for key, estimate in estimates.items()
            }
        counts = {key: self._pending.pop(key, 0) + 1 for key in limits}
        return await self._write(counts)

    async def _write(self, counts: Mapping[str, int]) -> dict[str, Hit]:
        async with self._engines.plain(Store.CORE) as core:
            hits = await add_hits(core, counts, self._window)
        now = time.monotonic()
        for key, found in hits.items():
            self._known[key] = _Known(found.count, now + found.retry_after)
        return hits

    async def flush(self) -> None:
        """Write the hits kept so far; forget the keys whose window ended."""
        now = time.monotonic()
        for key in [k for k, known in self._known.items() if known.ends <= now]:
            if key not in self._pending:
                del self._known[key]
        pending, self._pending = self._pending, Counter()
        if pending:
            await self._write(pending)

    async def keep_flushing(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            try:
                await self.flush()
            except Exception as error:
                # Without the core store, requests are not held back; these hits are lost.
                log.warning("request counts not written: %s", error.__class__.__name__)


async def purge_counters(core: AsyncConnection, older_than: timedelta) -> int:
    table = RateLimitCounter.__table__
    statement = sa.delete(table).where(table.c.window_start < sa.func.now() - older_than)
    return (await core.execute(statement)).rowcount or 0
