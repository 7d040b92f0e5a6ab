"""What a citizen says about themselves, and what has been verified (core store).

The name is the citizen's to choose: names never decide a match. The date of
birth, national ID and insurance number are claims until verified, because
matching links records by them: a claimed date of birth would let anyone
holding a phone take the doses typed at a site under that phone.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, any_of, utcnow
from models.checkin import link_unlinked_check_ins
from models.citizen import Citizen, CitizenIdentifier
from models.identifiers import IdentifierKind


class ProfileClaim(CoreTable, table=True):
    __tablename__ = "profile_claims"

    citizen_id: uuid.UUID = Field(primary_key=True, foreign_key="citizens.id", ondelete="CASCADE")
    date_of_birth: date
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


Identifier = tuple[IdentifierKind, str]


@dataclass(frozen=True)
class HeldIdentifier:
    kind: IdentifierKind
    value: str
    verified: bool
    verified_by: str | None
    verified_at: datetime | None


@dataclass(frozen=True)
class Profile:
    citizen_id: uuid.UUID
    full_name: str
    # None for a citizen registered without a phone.
    phone: str | None
    province_code: str | None
    district: str | None
    date_of_birth: date | None
    claimed_date_of_birth: date | None
    identifiers: list[HeldIdentifier]

    def claimed(self) -> list[Identifier]:
        return [(i.kind, i.value) for i in self.identifiers if not i.verified]

    def verified_kinds(self) -> set[IdentifierKind]:
        return {i.kind for i in self.identifiers if i.verified}


async def ensure_citizen(core: AsyncConnection, phone: str) -> tuple[uuid.UUID, bool]:
    """The citizen who signs in with this verified phone, created on first sign-in."""
    citizens = Citizen.__table__
    inserted = (
        await core.execute(
            insert(citizens)
            .values(id=uuid.uuid4(), full_name="", phone=phone, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[citizens.c.phone])
            .returning(citizens.c.id)
        )
    ).scalar()
    citizen_id = (
        inserted
        or (
            await core.execute(sa.select(citizens.c.id).where(citizens.c.phone == phone))
        ).scalar_one()
    )
    identifiers = CitizenIdentifier.__table__
    await core.execute(
        insert(identifiers)
        .values(
            id=uuid.uuid4(),
            citizen_id=citizen_id,
            kind=IdentifierKind.PHONE.value,
            value=phone,
            verified=True,
            verified_by="otp",
            verified_at=utcnow(),
        )
        .on_conflict_do_update(
            index_elements=[identifiers.c.citizen_id, identifiers.c.kind, identifiers.c.value],
            set_={"verified": True, "verified_by": "otp", "verified_at": utcnow()},
            where=identifiers.c.verified.is_(False),
        )
    )
    return citizen_id, inserted is not None


async def profiles(
    core: AsyncConnection, citizen_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Profile]:
    citizens, claims, identifiers = (
        Citizen.__table__,
        ProfileClaim.__table__,
        CitizenIdentifier.__table__,
    )
    rows = (
        await core.execute(
            sa.select(citizens, claims.c.date_of_birth.label("claimed_date_of_birth"))
            .outerjoin(claims, claims.c.citizen_id == citizens.c.id)
            .where(citizens.c.id.in_(citizen_ids))
        )
    ).all()
    held: dict[uuid.UUID, list[HeldIdentifier]] = defaultdict(list)
    query = (
        sa.select(identifiers)
        .where(identifiers.c.citizen_id.in_(citizen_ids))
        .order_by(identifiers.c.kind, identifiers.c.value)
    )
    for row in (await core.execute(query)).all():
        held[row.citizen_id].append(
            HeldIdentifier(
                IdentifierKind(row.kind), row.value, row.verified, row.verified_by, row.verified_at
            )
        )
    return {
        row.id: Profile(
            citizen_id=row.id,
            full_name=row.full_name,
            phone=row.phone,
            province_code=row.province_code,
            district=row.district,
            date_of_birth=row.date_of_birth,
            claimed_date_of_birth=row.claimed_date_of_birth,
            identifiers=held[row.id],
        )
        for row in rows
    }


async def profile_of(core: AsyncConnection, citizen_id: uuid.UUID) -> Profile | None:
    return (await profiles(core, [citizen_id])).get(citizen_id)


async def set_name_and_province(
    core: AsyncConnection,
    citizen_id: uuid.UUID,
    full_name: str | None,
    province_code: str | None,
) -> None:
    values: dict[str, Any] = {}
    if full_name is not None:
        values["full_name"] = full_name
    if province_code is not None:
        values["province_code"] = province_code
    if values:
        citizens = Citizen.__table__
        await core.execute(sa.update(citizens).where(citizens.c.id == citizen_id).values(values))


async def claim_date_of_birth(
    core: AsyncConnection, citizen_id: uuid.UUID, date_of_birth: date
) -> None:
    claims = ProfileClaim.__table__
    statement = insert(claims).values(
        citizen_id=citizen_id, date_of_birth=date_of_birth, claimed_at=utcnow()
    )
    await core.execute(
        statement.on_conflict_do_update(
            index_elements=[claims.c.citizen_id],
            set_={"date_of_birth": date_of_birth, "claimed_at": statement.excluded.claimed_at},
        )
    )


async def drop_date_of_birth_claim(core: AsyncConnection, citizen_id: uuid.UUID) -> None:
    claims = ProfileClaim.__table__
    await core.execute(sa.delete(claims).where(claims.c.citizen_id == citizen_id))


async def claim_identifier(
    core: AsyncConnection, citizen_id: uuid.UUID, kind: IdentifierKind, value: str
) -> None:
    """Replace the citizen's unverified claim of this kind with value."""
    identifiers = CitizenIdentifier.__table__
    await core.execute(
        sa.delete(identifiers).where(
            identifiers.c.citizen_id == citizen_id,
            identifiers.c.kind == kind.value,
            identifiers.c.verified.is_(False),
        )
    )
    await core.execute(
        insert(identifiers)
        .values(
            id=uuid.uuid4(), citizen_id=citizen_id, kind=kind.value, value=value, verified=False
        )
        .on_conflict_do_nothing(
            index_elements=[identifiers.c.citizen_id, identifiers.c.kind, identifiers.c.value]
        )
    )


class AlreadyVerifiedElsewhere(Exception):
    """Another citizen holds this identifier verified."""

    def __init__(self, kind: IdentifierKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


async def mark_verified(
    core: AsyncConnection,
    citizen_id: uuid.UUID,
    identifiers: Sequence[Identifier],
    date_of_birth: date | None,
    verified_by: str,
) -> None:
    """Make the claims verified; on AlreadyVerifiedElsewhere, roll the transaction back."""
    table = CitizenIdentifier.__table__
    now = utcnow()
    for kind, value in identifiers:
        try:
            async with core.begin_nested():
                await core.execute(
                    sa.update(table)
                    .where(
                        table.c.citizen_id == citizen_id,
                        table.c.kind == kind.value,
                        table.c.value == value,
                    )
                    .values(verified=True, verified_by=verified_by[:100], verified_at=now)
                )
        except IntegrityError as error:
            raise AlreadyVerifiedElsewhere(kind) from error
    await link_unlinked_check_ins(
        core, citizen_id, [value for kind, value in identifiers if kind is IdentifierKind.BHYT]
    )
    if date_of_birth is not None:
        citizens = Citizen.__table__
        await core.execute(
            sa.update(citizens)
            .where(citizens.c.id == citizen_id)
            .values(date_of_birth=date_of_birth)
        )
        await drop_date_of_birth_claim(core, citizen_id)


async def claimants_by_phone(core: AsyncConnection, phones: Sequence[str]) -> list[uuid.UUID]:
    """Citizens signed in with one of these phones who have claims awaiting verification."""
    citizens, identifiers, claims = (
        Citizen.__table__,
        CitizenIdentifier.__table__,
        ProfileClaim.__table__,
    )
    pending = sa.or_(
        sa.exists().where(
            identifiers.c.citizen_id == citizens.c.id, identifiers.c.verified.is_(False)
        ),
        sa.exists().where(claims.c.citizen_id == citizens.c.id),
    )
    query = sa.select(citizens.c.id).where(any_of(citizens.c.phone, "phones"), pending)
    return list((await core.execute(query, {"phones": list(phones)})).scalars())
