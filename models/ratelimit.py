"""Fixed-window counters kept in PostgreSQL, so every app process shares them (core store)."""

import asyncio
import heapq
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


def add_hits_statement(keys: str, counts: str, window: str) -> str:
    """The INSERT adding each key's count, its parameters named as given (`$n`): also
    written into a compiled plan's own statement, so that a request is counted in the
    round trip that reads its answer."""
    return f"""
    INSERT INTO core.rate_limits AS r (key, window_start, hits)
    SELECT added.key, now(), added.n
    FROM unnest({keys}::varchar[], {counts}::integer[]) AS added(key, n)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN r.window_start <= now() - make_interval(secs => {window})
                    THEN EXCLUDED.hits ELSE r.hits + EXCLUDED.hits END,
        window_start = CASE WHEN r.window_start <= now() - make_interval(secs => {window})
                            THEN now() ELSE r.window_start END
    RETURNING key, hits, window_start, now() AS now
    """


_ADD_HITS = add_hits_statement("$1", "$2", "$3")


@dataclass(frozen=True)
class ToWrite:
    """Hits that must reach the store before their request is decided: a caller this
    process has not counted yet, or one near its limit."""

    counts: dict[str, int]
    window: timedelta

    def arguments(self) -> list[Any]:
        """The statement's arguments: keys in a fixed order, so that concurrent writers
        lock them alike, their counts, the window in seconds."""
        keys = sorted(self.counts)
        return [keys, [self.counts[k] for k in keys], self.window.total_seconds()]


@dataclass
class Counting:
    """A request's hits still to be written, and what the store said once they are."""

    limits: dict[str, int]
    to_write: ToWrite
    hits: dict[str, Hit] | None = None


def hits_from(rows: Iterable[Sequence[Any]], window: timedelta) -> dict[str, Hit]:
    """What each window holds, from the rows (key, hits, window_start, now) the statement
    returned."""
    return {
        key: Hit(count=hits, retry_after=max(1, math.ceil((start + window - now).total_seconds())))
        for key, hits, start, now in rows
    }


class RequestCounts:
    """Request counters shared by every process, written in batches.

    A key's hits are kept here and added to the core store every `flush_seconds`
    while this process's estimate (the store's count at the last write, plus the hits
    kept since) stays within half the key's limit; past that, and for a key this
    process has not counted yet, each hit is written before it is answered (on its own,
    or inside the statement of a compiled plan that reads the answer), so the decision
    is the store's. What another process has kept but not written yet (at
    most half a limit, for at most one flush) is all a decision can miss.
    """

    def __init__(self, engines: Engines, window: timedelta, flush_seconds: float) -> None:
        self._engines = engines
        self._window = window
        self._flush_seconds = flush_seconds
        # Per key: the store's count at the last write, and the time.monotonic() at which
        # the window it belongs to ends. Plain tuples: the garbage collector does not
        # track them, and a busy process knows hundreds of thousands of keys.
        self._known: dict[str, tuple[int, float]] = {}
        # (when a known key's window ends, key), soonest first: what flush forgets.
        self._ending: list[tuple[float, str]] = []
        self._pending: Counter[str] = Counter()

    def _estimate(self, key: str, now: float) -> int | None:
        known = self._known.get(key)
        if known is None:
            return None
        count, ends = known
        return (count if now < ends else 0) + self._pending[key] + 1

    def take(self, limits: Mapping[str, int]) -> dict[str, Hit] | ToWrite:
        """Count one hit on each key: what each window holds when this process may decide
        alone, else the hits to write before deciding (see `write` and `written`)."""
        now = time.monotonic()
        estimates = {key: self._estimate(key, now) for key in limits}
        if all(e is not None and 2 * e <= limits[k] for k, e in estimates.items()):
            self._pending.update(limits.keys())
            return {
                key: Hit(count=int(estimate or 0), retry_after=1)
                for key, estimate in estimates.items()
            }
        return ToWrite({key: self._pending.pop(key, 0) + 1 for key in limits}, self._window)

    async def hit(self, limits: Mapping[str, int]) -> dict[str, Hit]:
        """Count one hit on each key; what each window holds (as far as this process
        knows when the hit is only kept)."""
        taken = self.take(limits)
        return taken if isinstance(taken, dict) else await self.write(taken)

    async def write(self, to_write: ToWrite) -> dict[str, Hit]:
        engines = self._engines
        async with asyncio.timeout(engines.read_timeout), engines.plain(Store.CORE) as core:
            rows = await core.fetch(_ADD_HITS, *to_write.arguments())
        return self.written(rows)

    def written(self, rows: Iterable[Sequence[Any]]) -> dict[str, Hit]:
        """What the windows hold after a write of `ToWrite` (here or inside another
        statement) returned rows."""
        hits = hits_from(rows, self._window)
        now = time.monotonic()
        for key, found in hits.items():
            ends = now + found.retry_after
            self._known[key] = (found.count, ends)
            heapq.heappush(self._ending, (ends, key))
        return hits

    async def flush(self) -> None:
        """Write the hits kept so far; forget the keys whose window ended."""
        now = time.monotonic()
        ending = self._ending
        while ending and ending[0][0] <= now:
            _, key = heapq.heappop(ending)
            known = self._known.get(key)
            # A key written again since has a later end of its own in the heap.
            if known is not None and known[1] <= now and key not in self._pending:
                del self._known[key]
        pending, self._pending = self._pending, Counter()
        if pending:
            await self.write(ToWrite(dict(pending), self._window))

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
