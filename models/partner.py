"""Partner systems and their API tokens (core store); a token is kept only as its hash."""

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class Partner(CoreTable, table=True):
    __tablename__ = "partners"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    scopes: list[str] = Field(sa_type=ARRAY(sa.String(40)))
    # Province operators act for one province only.
    province_code: str | None = Field(default=None, max_length=2)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class PartnerToken(CoreTable, table=True):
    __tablename__ = "partner_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner_id: uuid.UUID = Field(foreign_key="partners.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    # The first characters of the token, so an operator can tell tokens apart.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class TokenHolder:
    """The partner a live token belongs to."""

    partner_id: uuid.UUID
    name: str
    scopes: frozenset[str]
    province_code: str | None
    token_id: uuid.UUID


async def holder_of(core: AsyncConnection, token_hash: str) -> TokenHolder | None:
    """The partner holding this token, if the token and the partner are both live."""
    partners, tokens = Partner.__table__, PartnerToken.__table__
    query = (
        sa.select(
            partners.c.id, partners.c.name, partners.c.scopes, partners.c.province_code, tokens.c.id
        )
        .join(tokens, tokens.c.partner_id == partners.c.id)
        .where(
            tokens.c.token_hash == token_hash,
            tokens.c.revoked_at.is_(None),
            partners.c.revoked_at.is_(None),
            sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > sa.func.now()),
        )
    )
    row = (await core.execute(query)).first()
    if row is None:
        return None
    partner_id, name, scopes, province_code, token_id = row
    return TokenHolder(partner_id, name, frozenset(scopes), province_code, token_id)


async def insert_partner(
    core: AsyncConnection, name: str, scopes: Sequence[str], province_code: str | None
) -> uuid.UUID:
    partner_id = uuid.uuid4()
    await core.execute(
        sa.insert(Partner.__table__).values(
            id=partner_id,
            name=name,
            scopes=sorted(scopes),
            province_code=province_code,
            created_at=utcnow(),
        )
    )
    return partner_id


async def insert_token(
    core: AsyncConnection,
    partner_id: uuid.UUID,
    token_hash: str,
    prefix: str,
    expires_at: datetime | None,
) -> uuid.UUID:
    token_id = uuid.uuid4()
    await core.execute(
        sa.insert(PartnerToken.__table__).values(
            id=token_id,
            partner_id=partner_id,
            token_hash=token_hash,
            prefix=prefix,
            created_at=utcnow(),
            expires_at=expires_at,
        )
    )
    return token_id


async def find_partner(core: AsyncConnection, name_or_id: str) -> sa.Row[Any] | None:
    table = Partner.__table__
    condition = table.c.name == name_or_id
    with contextlib.suppress(ValueError):
        condition = sa.or_(condition, table.c.id == uuid.UUID(name_or_id))
    return (await core.execute(sa.select(table).where(condition))).first()


async def partners_by_ids(core: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    table = Partner.__table__
    return list((await core.execute(sa.select(table).where(table.c.id.in_(ids)))).all())


async def all_partners(core: AsyncConnection) -> list[sa.Row[Any]]:
    """Every partner with its live tokens' prefixes and expiries."""
    partners, tokens = Partner.__table__, PartnerToken.__table__
    live = sa.and_(
        tokens.c.partner_id == partners.c.id,
        tokens.c.revoked_at.is_(None),
        sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > sa.func.now()),
    )
    query = (
        sa.select(
            partners,
            sa.func.array_remove(sa.func.array_agg(tokens.c.prefix), None).label("token_prefixes"),
            sa.func.max(tokens.c.expires_at).label("token_expires_at"),
        )
        .outerjoin(tokens, live)
        .group_by(partners.c.id)
        .order_by(partners.c.created_at, partners.c.name)
    )
    return list((await core.execute(query)).all())


async def revoke_partner(core: AsyncConnection, partner_id: uuid.UUID) -> None:
    table = Partner.__table__
    await core.execute(
        sa.update(table)
        .where(table.c.id == partner_id, table.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def retire_tokens(
    core: AsyncConnection, partner_id: uuid.UUID, keep: uuid.UUID, until: datetime | None
) -> None:
    """Revoke every token of the partner but keep; with until, let them live until then."""
    table = PartnerToken.__table__
    live = sa.and_(
        table.c.partner_id == partner_id, table.c.id != keep, table.c.revoked_at.is_(None)
    )
    if until is None:
        await core.execute(sa.update(table).where(live).values(revoked_at=sa.func.now()))
        return
    await core.execute(
        sa.update(table)
        .where(live, sa.or_(table.c.expires_at.is_(None), table.c.expires_at > until))
        .values(expires_at=until)
    )
