"""Check-in retention: whole monthly partitions are dropped once every check-in in them is
older than the retention period, and the months ahead are created before they are needed.

Every process runs this periodically (and `healthgraph retention run` on demand); an
advisory lock lets one of them work at a time, and each step is idempotent.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.checkin import (
    MONTHS_AHEAD,
    StaffScan,
    add_months,
    ensure_partitions,
    month_start,
    months_between,
    next_month,
)

log = logging.getLogger("healthgraph.retention")

_PARTITION = re.compile(r"check_ins_(\d{4})_(\d{2})")
# Any fixed number, the same in every process: whoever holds it maintains the partitions.
_LOCK = 0x6865616C7468  # "health"


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Check-ins scanned before this are past retention."""
    return now - timedelta(days=retention_days)


def deletes_at(checked_in_at: datetime, retention_days: int) -> datetime:
    """When retention drops this check-in: its month's partition goes once its last
    instant is past retention (at the next maintenance run after this)."""
    end = next_month(month_start(checked_in_at.astimezone(UTC).date()))
    return datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=retention_days)


def months_needed(now: datetime, retention_days: int) -> list[date]:
    """From the month of the oldest check-in still kept to MONTHS_AHEAD months ahead."""
    oldest = retention_cutoff(now, retention_days).date()
    return months_between(oldest, add_months(month_start(now.date()), MONTHS_AHEAD))


def is_expired(month: date, now: datetime, retention_days: int) -> bool:
    end = next_month(month)
    return datetime(end.year, end.month, end.day, tzinfo=UTC) <= retention_cutoff(
        now, retention_days
    )


@dataclass
class RetentionReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    scans_forgotten: int = 0
    # False when another process held the lock and this run did nothing.
    ran: bool = True


async def _existing_partitions(connection: AsyncConnection) -> dict[date, str]:
    rows = await connection.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'core.check_ins'::regclass"
        )
    )
    found: dict[date, str] = {}
    for (name,) in rows:
        matched = _PARTITION.fullmatch(name)
        if matched:
            found[date(int(matched[1]), int(matched[2]), 1)] = name
    return found


async def run_retention(
    core: AsyncEngine, retention_days: int, now: datetime | None = None
) -> RetentionReport:
    now = now or datetime.now(UTC)
    report = RetentionReport()
    async with core.begin() as connection:
        locked = await connection.scalar(
            sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK}
        )
        if not locked:
            report.ran = False
            return report
        # Dropping a partition locks the whole table for a moment: never wait long for it.
        await connection.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        existing = await _existing_partitions(connection)
        wanted = months_needed(now, retention_days)
        missing = [month for month in wanted if month not in existing]
        await ensure_partitions(connection, missing)
        report.created = [f"check_ins_{m:%Y_%m}" for m in missing]
        for month, name in sorted(existing.items()):
            if is_expired(month, now, retention_days):
                await connection.execute(sa.text(f"DROP TABLE core.{name}"))
                report.dropped.append(name)
        scans = StaffScan.__table__
        forgotten = await connection.execute(
            sa.delete(scans).where(scans.c.scanned_at < retention_cutoff(now, retention_days))
        )
        report.scans_forgotten = int(forgotten.rowcount)  # type: ignore[attr-defined]
    if report.created or report.dropped:
        log.info(
            "check-in partitions: created %d, dropped %d",
            len(report.created),
            len(report.dropped),
        )
    return report
