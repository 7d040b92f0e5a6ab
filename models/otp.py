"""One-time codes sent to a phone (core store). Only a hash of each code is kept.

A code either signs the phone in, or, when a province office asked for it (office_id),
confirms the phone the office adds to one of its citizens (citizen_id). Every query
here takes the office (None for sign-in): a challenge of one kind is unknown as the
other, and one office's confirmation unknown to another office.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class OtpChallenge(CoreTable, table=True):
    __tablename__ = "otp_challenges"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    phone: str = Field(max_length=10, index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    attempts: int = 0
    consumed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The province office (a partner) that asked to add this phone to citizen_id.
    office_id: uuid.UUID | None = None
    citizen_id: uuid.UUID | None = None


class ChallengeState(StrEnum):
    OPEN = "OPEN"
    UNKNOWN = "UNKNOWN"
    EXPIRED = "EXPIRED"
    EXHAUSTED = "EXHAUSTED"
    USED = "USED"


@dataclass(frozen=True)
class Attempt:
    """One counted attempt at an open challenge."""

    phone: str
    code_hash: str
    attempts: int
    citizen_id: uuid.UUID | None = None


def _of(table: sa.Table, office_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """The challenges of this office (None: sign-in challenges)."""
    if office_id is None:
        return table.c.office_id.is_(None)
    return table.c.office_id == office_id


async def create_challenge(
    core: AsyncConnection,
    challenge_id: uuid.UUID,
    phone: str,
    code_hash: str,
    ttl: timedelta,
    office_id: uuid.UUID | None = None,
    citizen_id: uuid.UUID | None = None,
) -> datetime:
    table = OtpChallenge.__table__
    now = utcnow()
    await core.execute(
        sa.insert(table).values(
            id=challenge_id,
            phone=phone,
            code_hash=code_hash,
            created_at=now,
            expires_at=now + ttl,
            attempts=0,
            office_id=office_id,
            citizen_id=citizen_id,
        )
    )
    return now + ttl


async def count_attempt(
    core: AsyncConnection,
    challenge_id: uuid.UUID,
    max_attempts: int,
    office_id: uuid.UUID | None = None,
) -> Attempt | None:
    """Count an attempt against an open challenge; None when it is not open.

    The count is taken before the code is compared, in one statement, so that
    processes racing on the same challenge cannot get more than max_attempts.
    """
    table = OtpChallenge.__table__
    statement = (
        sa.update(table)
        .where(
            table.c.id == challenge_id,
            _of(table, office_id),
            table.c.consumed_at.is_(None),
            table.c.attempts < max_attempts,
            table.c.expires_at > sa.func.now(),
        )
        .values(attempts=table.c.attempts + 1)
        .returning(table.c.phone, table.c.code_hash, table.c.attempts, table.c.citizen_id)
    )
    row = (await core.execute(statement)).first()
    return Attempt(row.phone, row.code_hash, row.attempts, row.citizen_id) if row else None


async def consume(core: AsyncConnection, challenge_id: uuid.UUID) -> bool:
    """Close the challenge for good; False when another request already did."""
    table = OtpChallenge.__table__
    statement = (
        sa.update(table)
        .where(table.c.id == challenge_id, table.c.consumed_at.is_(None))
        .values(consumed_at=sa.func.now())
        .returning(table.c.id)
    )
    return (await core.execute(statement)).first() is not None


async def challenge_state(
    core: AsyncConnection,
    challenge_id: uuid.UUID,
    max_attempts: int,
    office_id: uuid.UUID | None = None,
) -> ChallengeState:
    table = OtpChallenge.__table__
    query = sa.select(
        table.c.consumed_at, table.c.attempts, table.c.expires_at <= sa.func.now()
    ).where(table.c.id == challenge_id, _of(table, office_id))
    row = (await core.execute(query)).first()
    if row is None:
        return ChallengeState.UNKNOWN
    consumed_at, attempts, expired = row
    if consumed_at is not None:
        return ChallengeState.USED
    if attempts >= max_attempts:
        return ChallengeState.EXHAUSTED
    if expired:
        return ChallengeState.EXPIRED
    return ChallengeState.OPEN


async def confirmed_phone(
    core: AsyncConnection, challenge_id: uuid.UUID, office_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The citizen and phone of this office's confirmation, once its code was accepted."""
    table = OtpChallenge.__table__
    query = sa.select(table.c.citizen_id, table.c.phone).where(
        table.c.id == challenge_id, _of(table, office_id), table.c.consumed_at.is_not(None)
    )
    row = (await core.execute(query)).first()
    return (row.citizen_id, row.phone) if row else None


async def purge_challenges(core: AsyncConnection, older_than: timedelta) -> int:
    table = OtpChallenge.__table__
    statement = sa.delete(table).where(table.c.expires_at < sa.func.now() - older_than)
    return (await core.execute(statement)).rowcount or 0
