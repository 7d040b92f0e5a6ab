"""Signed-out sessions, known to every app process within seconds.

An access token is verified without the store (its signature is enough), so signing
out would leave it working until it expires. Each process therefore reads, every few
seconds, the sessions signed out within an access token's lifetime, and refuses
their tokens. When the core store does not answer, the last list read stays in force:
an outage signs nobody in or out.
"""

import asyncio
import logging
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from models.session import families_revoked_within
from models.stores import is_unavailable

log = logging.getLogger("healthgraph.revocations")


class Revocations:
    def __init__(self, core: AsyncEngine, lookback: timedelta, interval: float) -> None:
        self.core = core
        # A session revoked longer ago than this has no live access token left.
        self.lookback = lookback + timedelta(minutes=1)
        self.interval = interval
        self._families: frozenset[uuid.UUID] = frozenset()

    def revoked(self, session_id: uuid.UUID) -> bool:
        return session_id in self._families

    async def refresh(self) -> None:
        try:
            async with self.core.connect() as core:
                families = await families_revoked_within(core, self.lookback)
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("signed-out sessions not refreshed: %s", error.__class__.__name__)
            return
        self._families = frozenset(families)

    async def keep_fresh(self) -> None:
        """Run for the life of the process."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("signed-out sessions not refreshed")
