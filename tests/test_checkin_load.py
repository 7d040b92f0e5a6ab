"""Nothing is lost under load: thousands of concurrent check-ins, every one counted."""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from models.checkin import CheckInMethod, Scan, capture
from models.stores import Engines, Store

CITIZENS = 200
VENUES = 20
SCANS = 3000
WINDOW = timedelta(minutes=10)


async def test_thousands_of_concurrent_check_ins_are_all_counted_once(store_urls, settings, given):
    citizens = [await given.citizen() for _ in range(CITIZENS)]
    venues = [await given.venue() for _ in range(VENUES)]
    rng = random.Random(8)
    start = datetime.now(UTC) - timedelta(days=2)
    # Each citizen's scans are an hour apart, so each is a check-in of its own; every tenth
    # scan is sent twice at the same instant, which must still give one.
    scans = [
        Scan(
            venues[n % VENUES],
            start + timedelta(hours=n // CITIZENS, seconds=rng.random()),
            CheckInMethod.APP_SCAN,
            citizens[n % CITIZENS],
        )
        for n in range(SCANS)
    ]
    sent = scans + scans[::10]
    rng.shuffle(sent)
    # One process's pool serves them all, so they queue for its connections longer than a
    # request would wait: back-pressure is not what this test is about.
    engines = Engines(store_urls, settings.model_copy(update={"store_connect_timeout": 300}))

    async def send(scan: Scan) -> None:
        async with engines[Store.CORE].begin() as core:
            await capture(core, scan, WINDOW)

    try:
        await asyncio.gather(*(send(scan) for scan in sent))
        async with engines[Store.CORE].connect() as core:
            counted = await core.scalar(sa.text("SELECT count(*) FROM core.check_ins"))
            distinct = await core.scalar(
                sa.text(
                    "SELECT count(DISTINCT (citizen_id, venue_id, checked_in_at)) "
                    "FROM core.check_ins"
                )
            )
    finally:
        await engines.dispose()

    assert counted == SCANS
    assert distinct == SCANS
