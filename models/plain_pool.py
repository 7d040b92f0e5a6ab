"""A few plain asyncpg connections of one database, lent one use at a time.

What runs on every request (compiled plans, request counting) borrows a connection
here. asyncpg's own pool costs about as much per use as a short statement's whole
client side: a proxy object and a holder per connection, a task per release
(`asyncio.shield`) and a timeout per acquire and release. This one lends the
connection itself, and nothing is ever reset: what borrows a connection runs
single statements outside transactions, and gives back one that failed in any
way as broken, to be closed, never reused.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress

import asyncpg


class PoolClosed(Exception):
    """The pool was closed: the process is shutting down."""


class PlainPool:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int) -> None:
        self._connect = connect
        self._size = size
        # Connections opened and not yet closed, lent or idle (or being opened).
        self._opened = 0
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def acquire(self) -> asyncpg.Connection:
        """An idle connection, a new one while fewer than `size` are open, or the next one
        given back. The caller bounds the wait (there is no timeout here)."""
        while True:
            if self._closed:
                raise PoolClosed
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._opened -= 1
            if self._opened < self._size:
                return await self._open()
            await self._wait()

    def release(self, connection: asyncpg.Connection, *, broken: bool = False) -> None:
        """Give a connection back; a broken one (or any, once closing) is closed."""
        if broken or self._closed or connection.is_closed():
            connection.terminate()
            self._opened -= 1
        else:
            self._idle.append(connection)
        self._wake_one()

    async def close(self) -> None:
        """Close the idle connections now, and every lent one as it comes back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self._opened -= 1
            try:
                await connection.close(timeout=5)
            except Exception:
                connection.terminate()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _open(self) -> asyncpg.Connection:
        self._opened += 1
        try:
            return await self._connect()
        except BaseException:
            self._opened -= 1
            self._wake_one()
            raise

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # Woken, then cancelled before it could take its turn: pass it on.
                self._wake_one()
            with suppress(ValueError):
                self._waiters.remove(waiter)
            raise

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
