"""Refresh tokens of signed-in citizens (core store), kept only as hashes.

Each sign-in starts a family; every refresh uses up one token and adds the
next to the same family. A token used twice means someone else holds a copy,
so the whole family is revoked.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class RefreshToken(CoreTable, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    family_id: uuid.UUID = Field(index=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Refusal(StrEnum):
    UNKNOWN = "UNKNOWN"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    REUSED = "REUSED"


@dataclass(frozen=True)
class SpentToken:
    family_id: uuid.UUID
    citizen_id: uuid.UUID
    # Spent moments ago already (a retry, a second tab): its successor exists.
    again: bool = False


async def store_token(
    core: AsyncConnection,
    token_hash: str,
    citizen_id: uuid.UUID,
    family_id: uuid.UUID,
    ttl: timedelta,
) -> datetime:
    now = utcnow()
    await core.execute(
        sa.insert(RefreshToken.__table__).values(
            id=uuid.uuid4(),
            family_id=family_id,
            citizen_id=citizen_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return now + ttl


async def spend(
    core: AsyncConnection, token_hash: str, grace: timedelta = timedelta(0)
) -> SpentToken | Refusal:
    """Use up a live token. A token used again within `grace` of its first use is spent
    `again`; later, it revokes its whole family."""
    table = RefreshToken.__table__
    statement = (
        sa.update(table)
        .where(
            table.c.token_hash == token_hash,
            table.c.used_at.is_(None),
            table.c.revoked_at.is_(None),
            table.c.expires_at > sa.func.now(),
        )
        .values(used_at=sa.func.now())
        .returning(table.c.family_id, table.c.citizen_id)
    )
    row = (await core.execute(statement)).first()
    if row is not None:
        return SpentToken(row.family_id, row.citizen_id)
    query = sa.select(
        table.c.family_id,
        table.c.citizen_id,
        table.c.used_at,
        table.c.revoked_at,
        (table.c.used_at > sa.func.now() - grace).label("within_grace"),
    ).where(table.c.token_hash == token_hash)
    found = (await core.execute(query)).first()
    if found is None:
        return Refusal.UNKNOWN
    if found.revoked_at is not None:
        return Refusal.REVOKED
    if found.used_at is not None and found.within_grace:
        return SpentToken(found.family_id, found.citizen_id, again=True)
    if found.used_at is not None:
        await revoke_family(core, found.family_id)
        return Refusal.REUSED
    return Refusal.EXPIRED


async def expiry_of(core: AsyncConnection, token_hash: str) -> datetime:
    table = RefreshToken.__table__
    query = sa.select(table.c.expires_at).where(table.c.token_hash == token_hash)
    return (await core.execute(query)).scalar_one()  # type: ignore[no-any-return]


async def family_of(core: AsyncConnection, token_hash: str) -> SpentToken | None:
    table = RefreshToken.__table__
    query = sa.select(table.c.family_id, table.c.citizen_id).where(table.c.token_hash == token_hash)
    row = (await core.execute(query)).first()
    return SpentToken(row.family_id, row.citizen_id) if row else None


async def revoke_family(core: AsyncConnection, family_id: uuid.UUID) -> None:
    table = RefreshToken.__table__
    await core.execute(
        sa.update(table)
        .where(table.c.family_id == family_id, table.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def revoke_citizen_sessions(core: AsyncConnection, citizen_id: uuid.UUID) -> None:
    table = RefreshToken.__table__
    await core.execute(
        sa.update(table)
        .where(table.c.citizen_id == citizen_id, table.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def family_revoked(core: AsyncConnection, family_id: uuid.UUID) -> bool:
    """Whether the sign-in session was ended (signed out, or a refresh token reused)."""
    table = RefreshToken.__table__
    query = sa.select(
        sa.exists().where(table.c.family_id == family_id, table.c.revoked_at.is_not(None))
    )
    return bool((await core.execute(query)).scalar())


async def families_revoked_within(core: AsyncConnection, window: timedelta) -> set[uuid.UUID]:
    """The session families signed out within the window (ix_refresh_tokens_revoked_at)."""
    table = RefreshToken.__table__
    query = (
        sa.select(table.c.family_id)
        .where(table.c.revoked_at.is_not(None), table.c.revoked_at > sa.func.now() - window)
        .distinct()
    )
    return set((await core.execute(query)).scalars())
