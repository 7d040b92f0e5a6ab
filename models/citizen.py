"""Citizens and their identifiers (core store)."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, any_of, utcnow
from models.identifiers import IdentifierKind


class Citizen(CoreTable, table=True):
    __tablename__ = "citizens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    full_name: str = Field(max_length=200)
    date_of_birth: date | None = None
    # The OTP-verified login phone, in its normalised 10-digit form; None for a citizen a
    # province operator registered who has no phone (they cannot sign in).
    phone: str | None = Field(default=None, max_length=10, sa_column_kwargs={"unique": True})
    province_code: str | None = Field(default=None, max_length=2)
    district: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class CitizenIdentifier(CoreTable, table=True):
    """An identifier a citizen holds; only verified ones ever link a record."""

    __tablename__ = "citizen_identifiers"
    __table_args__ = (
        sa.UniqueConstraint("citizen_id", "kind", "value"),
        # A verified national ID or insurance number belongs to one citizen only.
        sa.Index(
            "uq_citizen_identifiers_verified_value",
            "kind",
            "value",
            unique=True,
            postgresql_where=sa.text("verified AND kind <> 'PHONE'"),
        ),
        sa.Index("ix_citizen_identifiers_kind_value", "kind", "value"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE", index=True)
    kind: IdentifierKind = Field(sa_type=sa.String(8))
    value: str = Field(max_length=20)
    verified: bool = False
    verified_by: str | None = Field(default=None, max_length=100)
    verified_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


_citizens = Citizen.__table__
_CITIZENS_BY_IDS = sa.select(
    _citizens.c.id,
    _citizens.c.full_name,
    _citizens.c.date_of_birth,
    _citizens.c.phone,
    _citizens.c.province_code,
).where(any_of(_citizens.c.id, "ids"))


async def citizens_by_ids(core: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    result: sa.Result[Any] = await core.execute(_CITIZENS_BY_IDS, {"ids": list(ids)})
    return list(result.all())


async def citizen_id_by_phone(core: AsyncConnection, phone: str) -> uuid.UUID | None:
    table = Citizen.__table__
    return (await core.execute(sa.select(table.c.id).where(table.c.phone == phone))).scalar()


async def holder_of_verified(
    core: AsyncConnection, kind: IdentifierKind, value: str
) -> uuid.UUID | None:
    """The one citizen holding this identifier verified, if any."""
    table = CitizenIdentifier.__table__
    query = sa.select(table.c.citizen_id).where(
        table.c.kind == kind.value, table.c.value == value, table.c.verified.is_(True)
    )
    return (await core.execute(query)).scalar()
