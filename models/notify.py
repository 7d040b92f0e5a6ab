"""Change notices between processes, through PostgreSQL LISTEN/NOTIFY on the core store.

A writer publishes inside its own core-store transaction: PostgreSQL delivers
the notice when that transaction commits, and never if it rolls back. Each
process keeps one listening connection (opened on the first subscription,
reopened if it drops) and hands each notice to the in-process subscribers of
its (channel, citizen). A notice carries ids only, never health data: the
subscriber reads the record again, under the reader's own access rules.

Notices published while a process's listening connection is down are not
replayed to it; a subscriber that must not miss anything reads the current
state again when it (re)subscribes.
"""

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)


class Channel(StrEnum):
    # A citizen's test result was recorded or changed; the subject is the sample.
    TEST_RESULTS = "test_results"
    # A citizen was at a venue at the same time as a case; the subject is the alert.
    EXPOSURE_ALERTS = "exposure_alerts"


@dataclass(frozen=True)
class Notice:
    citizen_id: uuid.UUID
    subject_id: uuid.UUID

    def encode(self) -> str:
        return f"{self.citizen_id}:{self.subject_id}"

    @classmethod
    def decode(cls, payload: str) -> "Notice":
        citizen, _, subject = payload.partition(":")
        return cls(uuid.UUID(citizen), uuid.UUID(subject))


_NOTIFY_MANY = sa.text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)


async def publish(connection: AsyncConnection, channel: Channel, *notices: Notice) -> None:
    """Queue notices on the core store's transaction; they are sent when it commits."""
    await publish_many(connection, channel, notices)


async def publish_many(
    connection: AsyncConnection, channel: Channel, notices: Iterable[Notice]
) -> None:
    """Like publish, in one round trip however many (a bulk import links thousands)."""
    payloads = list(dict.fromkeys(notice.encode() for notice in notices))
    if payloads:
        await connection.execute(_NOTIFY_MANY, {"channel": channel.value, "payloads": payloads})


class ListenerUnavailable(Exception):
    """Notices cannot be received: the core store does not answer."""


Inbox = asyncio.Queue[Notice]
_FIRST_RETRY_DELAY = 0.5
_Key = tuple[Channel, uuid.UUID]


class Broker:
    """One listening connection per process, fanning notices out to subscribers."""

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 3.0,
        ping_interval: float = 15.0,
        max_retry_delay: float = 30.0,
        inbox_size: int = 100,
    ) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._ping_interval = ping_interval
        self._max_retry_delay = max_retry_delay
        self._inbox_size = inbox_size
        self._subscribers: dict[_Key, set[Inbox]] = defaultdict(set)
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Whether the last connection got as far as listening (then retries start over).
        self._listened = False

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: Channel, citizen_id: uuid.UUID) -> AsyncIterator[Inbox]:
        """An inbox of the citizen's notices on the channel, from the moment this returns.

        Raises ListenerUnavailable when the core store cannot be reached for listening.
        """
        inbox: Inbox = asyncio.Queue(maxsize=self._inbox_size)
        key = (channel, citizen_id)
        self._subscribers[key].add(inbox)
        try:
            await self._ensure_listening()
            yield inbox
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(inbox)
                if not subscribers:
                    del self._subscribers[key]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen_forever(), name="notify-listener")
        try:
            await asyncio.wait_for(self._listening.wait(), timeout=self._connect_timeout)
        except TimeoutError as error:
            raise ListenerUnavailable("the core store does not answer") from error

    def _dispatch(self, channel_name: str, payload: str) -> None:
        try:
            channel = Channel(channel_name)
            notice = Notice.decode(payload)
        except ValueError:
            log.warning("ignored a malformed notice on %s", channel_name)
            return
        for inbox in self._subscribers.get((channel, notice.citizen_id), ()):
            if inbox.full():
                # A subscriber that does not keep up loses its oldest notice, not the newest.
                inbox.get_nowait()
            inbox.put_nowait(notice)

    async def _listen_forever(self) -> None:
        delay = _FIRST_RETRY_DELAY
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "notice listener disconnected (%s); reconnecting in %.1f s",
                    error.__class__.__name__,
                    delay,
                )
            if self._listened:
                delay = _FIRST_RETRY_DELAY
                self._listened = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_delay)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=self._connect_timeout,
            server_settings={"application_name": "healthgraph-notify"},
        )
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _connection: closed.set())
        try:

            def deliver(_connection: object, _pid: int, channel: str, payload: object) -> None:
                self._dispatch(channel, str(payload))

            for channel in Channel:
                await connection.add_listener(channel.value, deliver)
            self._listening.set()
            self._listened = True
            log.info("listening for notices on the core store")
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=self._ping_interval)
                if closed.is_set():
                    raise ConnectionError("the listening connection was closed")
                # A dropped network path shows only when something is sent.
                await connection.execute("SELECT 1", timeout=self._connect_timeout)
        finally:
            self._listening.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=1)
