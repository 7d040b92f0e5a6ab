"""One-time sign-in codes sent to a phone (core store). Only a hash of each code is kept."""

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


async def create_challenge(
    core: AsyncConnection, challenge_id: uuid.UUID, phone: str, code_hash: str, ttl: timedelta
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
        )
    )
    return now + ttl


async def count_attempt(
    core: AsyncConnection, challenge_id: uuid.UUID, max_attempts: int
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
            table.c.consumed_at.is_(None),
            table.c.attempts < max_attempts,
            table.c.expires_at > sa.func.now(),
        )
        .values(attempts=table.c.attempts + 1)
        .returning(table.c.phone, table.c.code_hash, table.c.attempts)
    )
    row = (await core.execute(statement)).first()
    return Attempt(row.phone, row.code_hash, row.attempts) if row else None


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
    core: AsyncConnection, challenge_id: uuid.UUID, max_attempts: int
) -> ChallengeState:
    table = OtpChallenge.__table__
    query = sa.select(
        table.c.consumed_at, table.c.attempts, table.c.expires_at <= sa.func.now()
    ).where(table.c.id == challenge_id)
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


async def purge_challenges(core: AsyncConnection, older_than: timedelta) -> int:
    table = OtpChallenge.__table__
    statement = sa.delete(table).where(table.c.expires_at < sa.func.now() - older_than)
    return (await core.execute(statement)).rowcount or 0
