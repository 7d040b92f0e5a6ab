"""Reading a store, where a store that does not answer becomes STORE_UNAVAILABLE."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.errors import StoreUnavailable
from models.stores import Engines, Store, is_unavailable

log = logging.getLogger("healthgraph.stores")


@asynccontextmanager
async def reading(engines: Engines, store: Store) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction (commit it to keep writes)."""
    async with _available(engines[store], store) as connection:
        yield connection


@asynccontextmanager
async def fetching(engines: Engines, store: Store) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only, each statement on its own (no transaction)."""
    async with _available(engines.reader(store), store) as connection:
        yield connection


@asynccontextmanager
async def _available(engine: AsyncEngine, store: Store) -> AsyncIterator[AsyncConnection]:
    try:
        async with engine.connect() as connection:
            yield connection
    except StoreUnavailable:
        raise
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("%s store unavailable: %s", store.value, error.__class__.__name__)
        raise StoreUnavailable(store.value) from error
