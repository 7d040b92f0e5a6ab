"""The plain pool lends at most `size` connections, gives a returned one out again,
never reuses a broken one, and lends nothing once closed."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from models.plain_pool import PlainPool, PoolClosed
from models.stores import plain_url


@pytest.fixture
async def pool(store_urls) -> AsyncIterator[PlainPool]:
    url = plain_url(store_urls.core)
    made = PlainPool(lambda: asyncpg.connect(url), size=2)
    yield made
    await made.close()


async def test_a_connection_given_back_is_lent_again(pool):
    first = await pool.acquire()
    pool.release(first)

    again = await pool.acquire()

    assert again is first
    assert await again.fetchval("SELECT 1") == 1
    pool.release(again)


async def test_no_more_than_size_connections_are_lent_at_once(pool):
    lent = [await pool.acquire(), await pool.acquire()]
    third = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)
    waited = not third.done()

    pool.release(lent[0])
    given = await asyncio.wait_for(third, 5)

    assert waited
    assert given is lent[0]
    pool.release(given)
    pool.release(lent[1])


async def test_a_broken_connection_is_closed_and_another_is_opened(pool):
    broken = await pool.acquire()
    pool.release(broken, broken=True)

    fresh = await pool.acquire()

    assert broken.is_closed()
    assert fresh is not broken
    assert await fresh.fetchval("SELECT 1") == 1
    pool.release(fresh)


async def test_a_connection_the_server_closed_is_not_lent(pool, store_urls):
    idle = await pool.acquire()
    backend = idle.get_server_pid()
    pool.release(idle)
    admin = await asyncpg.connect(plain_url(store_urls.core))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)

    lent = await pool.acquire()

    assert lent.get_server_pid() != backend
    assert await lent.fetchval("SELECT 1") == 1
    pool.release(lent)


async def test_a_waiter_that_gives_up_leaves_the_connection_to_the_next(pool):
    lent = [await pool.acquire(), await pool.acquire()]
    gives_up = asyncio.ensure_future(pool.acquire())
    patient = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)
    gives_up.cancel()

    pool.release(lent[0])
    given = await asyncio.wait_for(patient, 5)

    assert gives_up.cancelled()
    assert given is lent[0]
    pool.release(given)
    pool.release(lent[1])


async def test_a_closed_pool_lends_nothing_and_closes_what_comes_back(pool):
    lent = await pool.acquire()
    idle = await pool.acquire()
    pool.release(idle)

    await pool.close()

    with pytest.raises(PoolClosed):
        await pool.acquire()
    pool.release(lent)
    assert idle.is_closed() and lent.is_closed()


async def test_a_waiter_is_told_when_the_pool_closes(pool):
    lent = [await pool.acquire(), await pool.acquire()]
    waiting = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)

    await pool.close()

    with pytest.raises(PoolClosed):
        await asyncio.wait_for(waiting, 5)
    for connection in lent:
        pool.release(connection)
