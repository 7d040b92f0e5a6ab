"""Check-ins at venues, partitioned by month of check-in (core store)."""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from models.base import CoreTable, utcnow


class CheckInMethod(StrEnum):
    APP_SCAN = "APP_SCAN"
    STAFF_SCAN_INSURANCE = "STAFF_SCAN_INSURANCE"
    STAFF_SCAN_PRINTED_QR = "STAFF_SCAN_PRINTED_QR"


class CheckIn(CoreTable, table=True):
    __tablename__ = "check_ins"
    __table_args__ = (
        sa.Index(
            "ix_check_ins_citizen_time",
            "citizen_id",
            sa.text("checked_in_at DESC"),
            sa.text("id DESC"),
        ),
        sa.Index("ix_check_ins_venue_time", "venue_id", "checked_in_at"),
        {"postgresql_partition_by": "RANGE (checked_in_at)"},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    checked_in_at: datetime = Field(primary_key=True, sa_type=sa.DateTime(timezone=True))
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE")
    venue_id: uuid.UUID = Field(foreign_key="venues.id")
    method: CheckInMethod = Field(sa_type=sa.String(32))
    # The health declaration answered at check-in, when the venue asks for one.
    declaration: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"check_ins_{month:%Y_%m}"


def partition_ddl(month: date) -> str:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end_month = next_month(month)
    end = datetime(end_month.year, end_month.month, 1, tzinfo=UTC)
    return (
        f"CREATE TABLE IF NOT EXISTS core.{partition_name(month)} PARTITION OF core.check_ins "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


async def ensure_partitions(connection: Any, first: date, last: date) -> None:
    """Create the monthly partitions covering first..last (an AsyncConnection)."""
    for month in months_between(first, last):
        await connection.execute(sa.text(partition_ddl(month)))
