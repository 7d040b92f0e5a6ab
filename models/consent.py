"""A citizen's consent that a partner may read parts of their data (core store)."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow
from models.partner import Partner


class Consent(CoreTable, table=True):
    __tablename__ = "consents"
    __table_args__ = (sa.Index("ix_consents_partner_citizen", "partner_id", "citizen_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE", index=True)
    partner_id: uuid.UUID = Field(foreign_key="partners.id", ondelete="CASCADE")
    scopes: list[str] = Field(sa_type=ARRAY(sa.String(40)))
    granted_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def _live(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.revoked_at.is_(None), table.c.expires_at > sa.func.now())


async def consented_scopes(
    core: AsyncConnection, partner_id: uuid.UUID, citizen_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, frozenset[str]]:
    """The scopes each citizen has granted the partner in consents live right now."""
    table = Consent.__table__
    query = sa.select(table.c.citizen_id, table.c.scopes).where(
        table.c.partner_id == partner_id, table.c.citizen_id.in_(citizen_ids), _live(table)
    )
    granted: dict[uuid.UUID, set[str]] = defaultdict(set)
    for citizen_id, scopes in (await core.execute(query)).all():
        granted[citizen_id].update(scopes)
    return {citizen_id: frozenset(granted.get(citizen_id, ())) for citizen_id in citizen_ids}


async def insert_consent(
    core: AsyncConnection,
    citizen_id: uuid.UUID,
    partner_id: uuid.UUID,
    scopes: Sequence[str],
    expires_at: datetime,
) -> uuid.UUID:
    consent_id = uuid.uuid4()
    await core.execute(
        sa.insert(Consent.__table__).values(
            id=consent_id,
            citizen_id=citizen_id,
            partner_id=partner_id,
            scopes=sorted(scopes),
            granted_at=utcnow(),
            expires_at=expires_at,
        )
    )
    return consent_id


async def revoke_consent(
    core: AsyncConnection, citizen_id: uuid.UUID, consent_id: uuid.UUID
) -> bool:
    """Revoke one of the citizen's consents; False when the citizen has no such consent."""
    table = Consent.__table__
    statement = (
        sa.update(table)
        .where(table.c.id == consent_id, table.c.citizen_id == citizen_id)
        .values(revoked_at=sa.func.coalesce(table.c.revoked_at, sa.func.now()))
        .returning(table.c.id)
    )
    return (await core.execute(statement)).first() is not None


def _with_partner() -> sa.Select[Any]:
    consents, partners = Consent.__table__, Partner.__table__
    return sa.select(
        consents.c.id,
        consents.c.citizen_id,
        consents.c.scopes,
        consents.c.granted_at,
        consents.c.expires_at,
        consents.c.revoked_at,
        partners.c.id.label("partner_id"),
        partners.c.name.label("partner_name"),
    ).join(partners, partners.c.id == consents.c.partner_id)


async def consents_of(
    core: AsyncConnection, citizen_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[sa.Row[Any]]]:
    """Each citizen's consents with the partner's name, newest first."""
    consents = Consent.__table__
    query = (
        _with_partner()
        .where(consents.c.citizen_id.in_(citizen_ids))
        .order_by(consents.c.granted_at.desc(), consents.c.id.desc())
    )
    found: dict[uuid.UUID, list[sa.Row[Any]]] = {citizen_id: [] for citizen_id in citizen_ids}
    for row in (await core.execute(query)).all():
        found[row.citizen_id].append(row)
    return found


async def consent_by_id(core: AsyncConnection, consent_id: uuid.UUID) -> sa.Row[Any] | None:
    consents = Consent.__table__
    return (await core.execute(_with_partner().where(consents.c.id == consent_id))).first()
