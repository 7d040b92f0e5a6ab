"""Retention drops whole monthly partitions once all their check-ins are past the period,
and creates the months ahead; the running service does it by itself."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from api.cli import main
from models.checkin import ensure_partitions, months_between
from models.retention import deletes_at, is_expired, months_needed, run_retention
from models.stores import Store


async def _partitions(engines) -> set[str]:
    async with engines[Store.CORE].connect() as core:
        rows = await core.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'core.check_ins'::regclass"
            )
        )
        return {name for (name,) in rows}


def test_a_month_expires_only_when_its_last_instant_is_past_retention():
    november = date(2026, 11, 1)

    assert not is_expired(november, datetime(2026, 12, 30, 23, 59, tzinfo=UTC), 30)
    assert is_expired(november, datetime(2026, 12, 31, tzinfo=UTC), 30)
    assert deletes_at(datetime(2026, 11, 1, tzinfo=UTC), 30) == datetime(2026, 12, 31, tzinfo=UTC)
    assert deletes_at(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), 30) == datetime(
        2026, 12, 31, tzinfo=UTC
    )


def test_the_months_kept_run_from_the_oldest_kept_check_in_to_two_months_ahead():
    assert months_needed(datetime(2026, 12, 10, tzinfo=UTC), 30) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]


async def test_retention_drops_only_partitions_whose_every_check_in_is_past_retention(
    engines, given
):
    now = datetime.now(UTC)
    citizen, venue = await given.citizen(), await given.venue()
    old = now - timedelta(days=150)
    recent = now - timedelta(days=3)
    await given.check_ins(citizen, venue, 2, start=old)
    await given.check_ins(citizen, venue, 2, start=recent)
    old_month = f"check_ins_{old:%Y_%m}"
    # The month before this one still holds check-ins inside the period (up to 30 days).
    edge = now - timedelta(days=29)
    await given.check_ins(citizen, venue, 1, start=edge)

    report = await run_retention(engines[Store.CORE], 30, now)

    assert old_month in report.dropped
    partitions = await _partitions(engines)
    assert old_month not in partitions
    assert f"check_ins_{edge:%Y_%m}" in partitions
    kept = await given.check_in_rows(citizen_id=citizen)
    assert len(kept) == 3
    ahead = months_needed(now, 30)[-1]
    assert f"check_ins_{ahead:%Y_%m}" in partitions
    again = await run_retention(engines[Store.CORE], 30, now)
    assert again.dropped == [] and again.created == []


async def test_retention_forgets_offline_scan_ids_past_the_period(
    graphql, engines, given, partners
):
    operator = await partners.create("checkins:staff")
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.text(
                "INSERT INTO core.staff_scans (operator_id, client_id, scanned_at, received_at) "
                "VALUES (:o, 'old', now() - interval '40 days', now()), "
                "(:o, 'new', now() - interval '1 day', now())"
            ),
            {"o": operator.partner_id},
        )

    report = await run_retention(engines[Store.CORE], 30)

    assert report.scans_forgotten == 1


async def test_the_running_service_keeps_partitions_current_by_itself(app_process, engines):
    expired = date.today().replace(day=1) - timedelta(days=200)
    async with engines[Store.CORE].begin() as core:
        await ensure_partitions(core, months_between(expired, expired))
    name = f"check_ins_{expired:%Y_%m}"
    assert name in await _partitions(engines)

    async with app_process(check_in_maintenance_seconds=0.2):
        for _ in range(100):
            if name not in await _partitions(engines):
                break
            await asyncio.sleep(0.1)

    assert name not in await _partitions(engines)


def test_retention_run_on_the_command_line(store_urls, settings, monkeypatch, capsys):
    for store, url in (
        ("CORE", store_urls.core),
        ("IMMUNIZATION", store_urls.immunization),
        ("TESTING", store_urls.testing),
    ):
        monkeypatch.setenv(f"HEALTHGRAPH_{store}_DATABASE_URL", url)
    monkeypatch.setenv("HEALTHGRAPH_DATA_DIR", str(settings.data_dir))
    from models.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["retention", "run"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "retention: 30 days" in out and "dropped:" in out
