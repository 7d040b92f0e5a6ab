"""Venues where citizens check in, and who operates them (core store)."""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class VenueKind(StrEnum):
    OFFICE = "OFFICE"
    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    WORKER_BUS = "WORKER_BUS"
    GROCERY = "GROCERY"
    MARKET = "MARKET"
    LYCHEE_WEIGHING_STATION = "LYCHEE_WEIGHING_STATION"
    SCHOOL = "SCHOOL"
    HOSPITAL = "HOSPITAL"
    OTHER = "OTHER"


KIND_ABBREVIATION = {
    VenueKind.OFFICE: "VP",
    VenueKind.HOTEL: "KS",
    VenueKind.RESTAURANT: "NH",
    VenueKind.WORKER_BUS: "XE",
    VenueKind.GROCERY: "TH",
    VenueKind.MARKET: "CHO",
    VenueKind.LYCHEE_WEIGHING_STATION: "CV",
    VenueKind.SCHOOL: "TR",
    VenueKind.HOSPITAL: "BV",
    VenueKind.OTHER: "KH",
}


class Venue(CoreTable, table=True):
    __tablename__ = "venues"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Printed under the poster's code and carried (signed) in it: upper case, digits and
    # dashes only, so the QR code stays in its compact alphanumeric mode.
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    kind: VenueKind = Field(sa_type=sa.String(32))
    province_code: str = Field(max_length=2, index=True)
    district: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    # The partner (with `checkins:staff`) that runs the venue; None for venues without one.
    operator_id: uuid.UUID | None = Field(
        default=None, foreign_key="partners.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # A closed venue's code is refused at check-in.
    closed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


_venues = Venue.__table__


async def venues_by_codes(core: AsyncConnection, codes: Sequence[str]) -> list[sa.Row[Any]]:
    return list((await core.execute(sa.select(_venues).where(_venues.c.code.in_(codes)))).all())


async def venue_by_code(core: AsyncConnection, code: str) -> sa.Row[Any] | None:
    return (await core.execute(sa.select(_venues).where(_venues.c.code == code))).first()


@dataclass(frozen=True)
class NewVenue:
    name: str
    kind: VenueKind
    province_code: str
    district: str | None
    address: str | None
    operator_id: uuid.UUID | None


# Crockford's base-32 digits: no I, L, O or U to misread on a poster.
_CODE_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_venue_code(kind: VenueKind, province_code: str) -> str:
    suffix = "".join(secrets.choice(_CODE_DIGITS) for _ in range(7))
    return f"{province_code}-{KIND_ABBREVIATION[kind]}-{suffix}"


async def insert_venue(core: AsyncConnection, venue: NewVenue) -> sa.Row[Any]:
    """Insert the venue under a new code (a fresh one on the rare collision)."""
    while True:
        row = (
            await core.execute(
                insert(_venues)
                .values(
                    id=uuid.uuid4(),
                    code=new_venue_code(venue.kind, venue.province_code),
                    name=venue.name,
                    kind=venue.kind.value,
                    province_code=venue.province_code,
                    district=venue.district,
                    address=venue.address,
                    operator_id=venue.operator_id,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=[_venues.c.code])
                .returning(_venues)
            )
        ).first()
        if row is not None:
            return row


async def close_venue(core: AsyncConnection, venue_id: uuid.UUID) -> sa.Row[Any] | None:
    """Mark the venue closed (once: closing again keeps the first time)."""
    await core.execute(
        sa.update(_venues)
        .where(_venues.c.id == venue_id, _venues.c.closed_at.is_(None))
        .values(closed_at=utcnow())
    )
    return (await core.execute(sa.select(_venues).where(_venues.c.id == venue_id))).first()


async def venues_of(
    core: AsyncConnection, operator_id: uuid.UUID | None = None, province_code: str | None = None
) -> list[sa.Row[Any]]:
    query = sa.select(_venues).order_by(_venues.c.province_code, _venues.c.code)
    if operator_id is not None:
        query = query.where(_venues.c.operator_id == operator_id)
    if province_code is not None:
        query = query.where(_venues.c.province_code == province_code)
    return list((await core.execute(query)).all())
