"""Check-ins at venues, partitioned by month of check-in (core store)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, PageKey, utcnow
from models.venue import Venue


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
        # Everyone on one worker-bus trip (the exposure query).
        sa.Index(
            "ix_check_ins_venue_trip_time",
            "venue_id",
            "trip_id",
            "checked_in_at",
            postgresql_where=sa.text("trip_id IS NOT NULL"),
        ),
        # Staff check-ins whose insurance number no citizen has verified yet: they link
        # by themselves once one does.
        sa.Index(
            "ix_check_ins_unlinked_insurance",
            "insurance_number",
            postgresql_where=sa.text("citizen_id IS NULL"),
        ),
        {"postgresql_partition_by": "RANGE (checked_in_at)"},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # When the code was scanned (for offline scanners, earlier than it reached us).
    checked_in_at: datetime = Field(primary_key=True, sa_type=sa.DateTime(timezone=True))
    # None while a staff check-in's insurance number belongs to no verified citizen.
    citizen_id: uuid.UUID | None = Field(
        default=None, foreign_key="citizens.id", ondelete="CASCADE"
    )
    venue_id: uuid.UUID = Field(foreign_key="venues.id")
    method: CheckInMethod = Field(sa_type=sa.String(32))
    # The health declaration answered at check-in, when the venue asks for one.
    declaration: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    # When the kept declaration was answered (the time of the scan that carried it).
    declared_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The insurance number venue staff scanned or typed (STAFF_SCAN_INSURANCE).
    insurance_number: str | None = Field(default=None, max_length=15)
    # Worker buses: the trip the scan was made on; everyone on one trip was together.
    trip_id: str | None = Field(default=None, max_length=64)
    # The venue operator (partner) whose staff made the scan; None for the citizen's own.
    operator_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class StaffScan(CoreTable, table=True):
    """A scan an operator's device sent, by the ID the device gave it: sending it again
    finds this row and adds nothing."""

    __tablename__ = "staff_scans"

    operator_id: uuid.UUID = Field(primary_key=True, foreign_key="partners.id", ondelete="CASCADE")
    client_id: str = Field(primary_key=True, max_length=64)
    # The check-in the scan made or joined (None once the citizen deleted it).
    check_in_id: uuid.UUID | None = None
    scanned_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class PersonalCard(CoreTable, table=True):
    """A printed personal QR card: its code carries only the serial (signed)."""

    __tablename__ = "personal_cards"
    __table_args__ = (
        # One live card per citizen: a new card revokes the old one.
        sa.Index(
            "uq_personal_cards_live_citizen",
            "citizen_id",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    serial: str = Field(primary_key=True, max_length=32)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE", index=True)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    issued_by: str = Field(max_length=100)
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


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


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


# Check-ins older than this are dropped with their partition; new ones land up to this far ahead.
MONTHS_KEPT = 2
MONTHS_AHEAD = 2


def current_partition_months(today: date | None = None) -> list[date]:
    this_month = month_start(today or datetime.now(UTC).date())
    return months_between(
        add_months(this_month, -MONTHS_KEPT), add_months(this_month, MONTHS_AHEAD)
    )


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


async def ensure_partitions(connection: AsyncConnection, months: Iterable[date]) -> None:
    """Create these monthly partitions where they are missing."""
    for month in months:
        await connection.execute(sa.text(partition_ddl(month)))


_PAGES = sa.text(
    """
    SELECT k.ord, c.id, c.checked_in_at, c.method, c.declaration,
           v.id AS venue_id, v.code AS venue_code, v.name AS venue_name,
           v.kind AS venue_kind, v.province_code AS venue_province_code,
           v.district AS venue_district, v.address AS venue_address,
           v.closed_at AS venue_closed_at
    FROM unnest(CAST(:citizens AS uuid[]), CAST(:after_ats AS timestamptz[]),
                CAST(:after_ids AS uuid[]), CAST(:limits AS int[]))
         WITH ORDINALITY AS k(citizen_id, after_at, after_id, lim, ord)
    CROSS JOIN LATERAL (
        SELECT ci.id, ci.checked_in_at, ci.method, ci.declaration, ci.venue_id
        FROM core.check_ins ci
        WHERE ci.citizen_id = k.citizen_id
          AND (k.after_at IS NULL OR (ci.checked_in_at, ci.id) < (k.after_at, k.after_id))
        ORDER BY ci.checked_in_at DESC, ci.id DESC
        LIMIT k.lim
    ) c
    JOIN core.venues v ON v.id = c.venue_id
    ORDER BY k.ord, c.checked_in_at DESC, c.id DESC
    """
)


async def check_in_pages(core: AsyncConnection, keys: Sequence[PageKey]) -> list[list[sa.Row[Any]]]:
    """For each key, up to key.limit check-ins (with venue), newest first."""
    result = await core.execute(
        _PAGES,
        {
            "citizens": [key.citizen_id for key in keys],
            "after_ats": [key.after_at for key in keys],
            "after_ids": [key.after_id for key in keys],
            "limits": [key.limit for key in keys],
        },
    )
    pages: list[list[sa.Row[Any]]] = [[] for _ in keys]
    for row in result.all():
        pages[row.ord - 1].append(row)
    return pages


async def check_ins_by_ids(core: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    """Check-ins (with venue and owner) by ID, for node lookups."""
    query = sa.text(
        """
        SELECT c.id, c.citizen_id, c.checked_in_at, c.method, c.declaration,
               v.id AS venue_id, v.code AS venue_code, v.name AS venue_name,
               v.kind AS venue_kind, v.province_code AS venue_province_code,
               v.district AS venue_district, v.address AS venue_address,
               v.closed_at AS venue_closed_at
        FROM core.check_ins c JOIN core.venues v ON v.id = c.venue_id
        WHERE c.id = ANY(CAST(:ids AS uuid[]))
        """
    )
    return list((await core.execute(query, {"ids": list(ids)})).all())


# Capture


@dataclass(frozen=True)
class Scan:
    """One scan to record: who (a citizen, or an insurance number no citizen has verified
    yet), where, when, and what they declared."""

    venue_id: uuid.UUID
    at: datetime
    method: CheckInMethod
    citizen_id: uuid.UUID | None = None
    insurance_number: str | None = None
    declaration: dict[str, Any] | None = None
    trip_id: str | None = None
    operator_id: uuid.UUID | None = None

    def subject(self) -> str:
        return f"citizen:{self.citizen_id}" if self.citizen_id else f"bhyt:{self.insurance_number}"


@dataclass(frozen=True)
class Captured:
    id: uuid.UUID
    checked_in_at: datetime
    citizen_id: uuid.UUID | None
    # False when the scan joined a check-in made within the dedupe window.
    new: bool


_check_ins = CheckIn.__table__


def _same_subject(scan: Scan) -> sa.ColumnElement[bool]:
    if scan.citizen_id is not None:
        return _check_ins.c.citizen_id == scan.citizen_id
    return sa.and_(
        _check_ins.c.citizen_id.is_(None), _check_ins.c.insurance_number == scan.insurance_number
    )


def _newer_declaration(scan: Scan, existing: Any) -> bool:
    """Of the scans joined into one check-in, the declaration answered last is kept: a scan
    with none never erases one, and one answered at the same moment as the kept one (a
    resent scan) changes nothing. Offline scans arrive out of order, so "last" is by scan
    time, not arrival."""
    if not scan.declaration:
        return False
    return not existing.declaration or scan.at > existing.declared_at


async def capture(core: AsyncConnection, scan: Scan, window: timedelta) -> Captured:
    """Record the scan, or find the check-in of the same person at the same venue less than
    `window` away (either side: offline scans arrive late and out of order). Run inside the
    caller's transaction: an advisory lock on (person, venue) makes concurrent scans of one
    person at one venue take turns, so two at the same instant still give one check-in."""
    if scan.citizen_id is None and scan.insurance_number is None:
        raise ValueError("a scan names a citizen or an insurance number")
    lock_key = f"check-in:{scan.subject()}:{scan.venue_id}"
    await core.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": lock_key}
    )
    distance = sa.func.abs(sa.extract("epoch", _check_ins.c.checked_in_at - scan.at))
    existing = (
        await core.execute(
            sa.select(
                _check_ins.c.id,
                _check_ins.c.checked_in_at,
                _check_ins.c.citizen_id,
                _check_ins.c.declaration,
                sa.func.coalesce(_check_ins.c.declared_at, _check_ins.c.checked_in_at).label(
                    "declared_at"
                ),
            )
            .where(
                _check_ins.c.venue_id == scan.venue_id,
                _same_subject(scan),
                _check_ins.c.checked_in_at > scan.at - window,
                _check_ins.c.checked_in_at < scan.at + window,
            )
            .order_by(distance)
            .limit(1)
        )
    ).first()
    if existing is not None:
        if _newer_declaration(scan, existing):
            await core.execute(
                sa.update(_check_ins)
                .where(
                    _check_ins.c.id == existing.id,
                    _check_ins.c.checked_in_at == existing.checked_in_at,
                )
                .values(declaration=scan.declaration, declared_at=scan.at)
            )
        return Captured(existing.id, existing.checked_in_at, existing.citizen_id, new=False)
    check_in_id = uuid.uuid4()
    await core.execute(
        sa.insert(_check_ins).values(
            id=check_in_id,
            checked_in_at=scan.at,
            citizen_id=scan.citizen_id,
            venue_id=scan.venue_id,
            method=scan.method.value,
            declaration=scan.declaration,
            declared_at=scan.at if scan.declaration else None,
            insurance_number=scan.insurance_number,
            trip_id=scan.trip_id,
            operator_id=scan.operator_id,
            created_at=utcnow(),
        )
    )
    return Captured(check_in_id, scan.at, scan.citizen_id, new=True)


async def link_unlinked_check_ins(
    core: AsyncConnection, citizen_id: uuid.UUID, insurance_numbers: Sequence[str]
) -> int:
    """Give the citizen the staff check-ins made under insurance numbers just verified as
    theirs; returns how many."""
    if not insurance_numbers:
        return 0
    result = await core.execute(
        sa.update(_check_ins)
        .where(
            _check_ins.c.citizen_id.is_(None),
            _check_ins.c.insurance_number.in_(list(insurance_numbers)),
        )
        .values(citizen_id=citizen_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_check_ins(
    core: AsyncConnection, citizen_id: uuid.UUID, ids: Sequence[uuid.UUID] | None
) -> list[sa.Row[Any]]:
    """Delete the citizen's check-ins with these IDs (all of them when ids is None); the
    deleted ones, with their venue, oldest first."""
    venues = Venue.__table__
    statement = (
        sa.delete(_check_ins)
        .where(_check_ins.c.citizen_id == citizen_id, _check_ins.c.venue_id == venues.c.id)
        .returning(
            _check_ins.c.id,
            _check_ins.c.checked_in_at,
            venues.c.code.label("venue_code"),
            venues.c.name.label("venue_name"),
        )
    )
    if ids is not None:
        statement = statement.where(_check_ins.c.id.in_(list(ids)))
    rows: list[Any] = list((await core.execute(statement)).all())
    return sorted(rows, key=lambda row: (row.checked_in_at, row.id))


# Offline scanners


async def claim_client_id(
    core: AsyncConnection, operator_id: uuid.UUID, client_id: str, scanned_at: datetime
) -> sa.Row[Any] | None:
    """Remember the device's ID for this scan; None when new, else the scan sent before."""
    scans = StaffScan.__table__
    inserted = (
        await core.execute(
            insert(scans)
            .values(
                operator_id=operator_id,
                client_id=client_id,
                scanned_at=scanned_at,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[scans.c.operator_id, scans.c.client_id])
            .returning(scans.c.client_id)
        )
    ).first()
    if inserted is not None:
        return None
    return (
        await core.execute(
            sa.select(scans).where(
                scans.c.operator_id == operator_id, scans.c.client_id == client_id
            )
        )
    ).first()


async def settle_client_id(
    core: AsyncConnection, operator_id: uuid.UUID, client_id: str, check_in_id: uuid.UUID
) -> None:
    scans = StaffScan.__table__
    await core.execute(
        sa.update(scans)
        .where(scans.c.operator_id == operator_id, scans.c.client_id == client_id)
        .values(check_in_id=check_in_id)
    )


async def receipt_of(core: AsyncConnection, check_in_id: uuid.UUID) -> sa.Row[Any] | None:
    """A check-in with its venue, as venue staff may see it (whether linked, not to whom)."""
    venues = Venue.__table__
    query = (
        sa.select(
            _check_ins.c.id,
            _check_ins.c.checked_in_at,
            (_check_ins.c.citizen_id.is_not(None)).label("linked"),
            venues.c.code.label("venue_code"),
            venues.c.name.label("venue_name"),
        )
        .join(venues, venues.c.id == _check_ins.c.venue_id)
        .where(_check_ins.c.id == check_in_id)
    )
    return (await core.execute(query)).first()


# Personal QR cards


async def live_card(core: AsyncConnection, citizen_id: uuid.UUID) -> sa.Row[Any] | None:
    cards = PersonalCard.__table__
    query = sa.select(cards).where(cards.c.citizen_id == citizen_id, cards.c.revoked_at.is_(None))
    return (await core.execute(query)).first()


async def issue_card(
    core: AsyncConnection, citizen_id: uuid.UUID, serial: str, issued_by: str
) -> sa.Row[Any]:
    """A new card for the citizen; the one they had stops working."""
    cards = PersonalCard.__table__
    now = utcnow()
    await core.execute(
        sa.update(cards)
        .where(cards.c.citizen_id == citizen_id, cards.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return (
        await core.execute(
            sa.insert(cards)
            .values(serial=serial, citizen_id=citizen_id, issued_at=now, issued_by=issued_by[:100])
            .returning(cards)
        )
    ).one()


async def revoke_card(core: AsyncConnection, citizen_id: uuid.UUID) -> bool:
    """Revoke the citizen's card in use; False when they had none."""
    cards = PersonalCard.__table__
    result = await core.execute(
        sa.update(cards)
        .where(cards.c.citizen_id == citizen_id, cards.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def card_by_serial(core: AsyncConnection, serial: str) -> sa.Row[Any] | None:
    cards = PersonalCard.__table__
    return (await core.execute(sa.select(cards).where(cards.c.serial == serial))).first()
