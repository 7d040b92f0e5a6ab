"""Change notices: delivered at commit, to the subscribers of their (channel, citizen) only."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from models.notify import Broker, Channel, Notice, publish
from models.stores import Engines, Store, StoreUrls


@pytest.fixture
async def broker(store_urls: StoreUrls) -> AsyncIterator[Broker]:
    broker = Broker(store_urls.core, connect_timeout=5, ping_interval=0.5)
    yield broker
    await broker.close()


async def _publish(engines: Engines, channel: Channel, notice: Notice) -> None:
    async with engines[Store.CORE].begin() as core:
        await publish(core, channel, notice)


async def test_a_committed_notice_reaches_the_subscribers_of_its_citizen(
    broker: Broker, engines: Engines
) -> None:
    notice = Notice(uuid.uuid4(), uuid.uuid4())
    async with broker.subscribe(Channel.TEST_RESULTS, notice.citizen_id) as inbox:
        await _publish(engines, Channel.TEST_RESULTS, notice)
        assert await asyncio.wait_for(inbox.get(), 5) == notice


async def test_a_rolled_back_notice_is_never_delivered(broker: Broker, engines: Engines) -> None:
    citizen = uuid.uuid4()
    rolled_back, committed = Notice(citizen, uuid.uuid4()), Notice(citizen, uuid.uuid4())
    async with broker.subscribe(Channel.TEST_RESULTS, citizen) as inbox:
        async with engines[Store.CORE].connect() as core:
            transaction = await core.begin()
            await publish(core, Channel.TEST_RESULTS, rolled_back)
            await transaction.rollback()
        await _publish(engines, Channel.TEST_RESULTS, committed)
        assert await asyncio.wait_for(inbox.get(), 5) == committed


async def test_other_citizens_and_other_channels_are_not_delivered(
    broker: Broker, engines: Engines
) -> None:
    citizen = uuid.uuid4()
    mine = Notice(citizen, uuid.uuid4())
    async with broker.subscribe(Channel.TEST_RESULTS, citizen) as inbox:
        await _publish(engines, Channel.TEST_RESULTS, Notice(uuid.uuid4(), uuid.uuid4()))
        await _publish(engines, Channel.EXPOSURE_ALERTS, Notice(citizen, uuid.uuid4()))
        await _publish(engines, Channel.TEST_RESULTS, mine)
        assert await asyncio.wait_for(inbox.get(), 5) == mine
        assert inbox.empty()


_LISTENERS = sa.text(
    "SELECT pid FROM pg_stat_activity "
    "WHERE application_name = 'healthgraph-notify' AND datname = current_database()"
)


async def test_the_listener_reconnects_after_its_connection_is_killed(
    broker: Broker, engines: Engines
) -> None:
    citizen = uuid.uuid4()
    async with broker.subscribe(Channel.EXPOSURE_ALERTS, citizen) as inbox:
        async with engines[Store.CORE].begin() as core:
            killed = (await core.execute(_LISTENERS)).scalar_one()
            await core.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        for _ in range(100):
            await asyncio.sleep(0.1)
            async with engines[Store.CORE].begin() as core:
                listener = (await core.execute(_LISTENERS)).scalar_one_or_none()
            if listener not in (None, killed) and broker.listening:
                break
        notice = Notice(citizen, uuid.uuid4())
        await _publish(engines, Channel.EXPOSURE_ALERTS, notice)
        assert await asyncio.wait_for(inbox.get(), 5) == notice


async def test_a_subscriber_that_falls_behind_keeps_the_newest_notices(
    store_urls: StoreUrls, engines: Engines
) -> None:
    broker = Broker(store_urls.core, inbox_size=2)
    citizen = uuid.uuid4()
    notices = [Notice(citizen, uuid.uuid4()) for _ in range(3)]
    try:
        async with broker.subscribe(Channel.TEST_RESULTS, citizen) as inbox:
            async with engines[Store.CORE].begin() as core:
                for notice in notices:
                    await publish(core, Channel.TEST_RESULTS, notice)
            for _ in range(50):
                if inbox.full():
                    break
                await asyncio.sleep(0.1)
            assert [inbox.get_nowait(), inbox.get_nowait()] == notices[1:]
    finally:
        await broker.close()
