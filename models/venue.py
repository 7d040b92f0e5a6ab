"""Venues where citizens check in (core store)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
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


class Venue(CoreTable, table=True):
    __tablename__ = "venues"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # What the venue's QR code carries.
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    kind: VenueKind = Field(sa_type=sa.String(32))
    province_code: str = Field(max_length=2, index=True)
    address: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


async def venues_by_codes(core: AsyncConnection, codes: Sequence[str]) -> list[sa.Row[Any]]:
    table = Venue.__table__
    return list((await core.execute(sa.select(table).where(table.c.code.in_(codes)))).all())
