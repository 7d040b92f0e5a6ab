"""Citizens a province office registers in person: people without a phone, known by the
national ID or insurance number on the card they show (core store)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import utcnow
from models.checkin import link_unlinked_check_ins
from models.citizen import Citizen, CitizenIdentifier, citizen_id_by_phone
from models.identifiers import IdentifierKind
from models.profile import Identifier


@dataclass(frozen=True)
class NewCitizen:
    full_name: str
    date_of_birth: date
    province_code: str
    district: str | None
    # Normalised; at least one national ID or insurance number.
    identifiers: Sequence[Identifier]


async def verified_holders(
    core: AsyncConnection, identifiers: Sequence[Identifier]
) -> dict[Identifier, uuid.UUID]:
    """Which citizen holds each of these identifiers verified (at most one each)."""
    if not identifiers:
        return {}
    table = CitizenIdentifier.__table__
    query = sa.select(table.c.kind, table.c.value, table.c.citizen_id).where(
        table.c.verified.is_(True),
        sa.tuple_(table.c.kind, table.c.value).in_([(k.value, v) for k, v in identifiers]),
    )
    rows = (await core.execute(query)).all()
    return {(IdentifierKind(row.kind), row.value): row.citizen_id for row in rows}


async def insert_registered(core: AsyncConnection, new: NewCitizen, verified_by: str) -> uuid.UUID:
    """The citizen, without a phone, with their identifiers verified by the office that saw
    their card. Raises IntegrityError when another citizen got one of the identifiers
    verified meanwhile (the caller rolls back and looks again)."""
    citizen_id = uuid.uuid4()
    now = utcnow()
    await core.execute(
        sa.insert(Citizen.__table__).values(
            id=citizen_id,
            full_name=new.full_name,
            date_of_birth=new.date_of_birth,
            phone=None,
            province_code=new.province_code,
            district=new.district,
            created_at=now,
        )
    )
    await core.execute(
        sa.insert(CitizenIdentifier.__table__),
        [
            {
                "id": uuid.uuid4(),
                "citizen_id": citizen_id,
                "kind": kind.value,
                "value": value,
                "verified": True,
                "verified_by": verified_by[:100],
                "verified_at": now,
            }
            for kind, value in new.identifiers
        ],
    )
    insurance_numbers = [v for k, v in new.identifiers if k is IdentifierKind.BHYT]
    await link_unlinked_check_ins(core, citizen_id, insurance_numbers)
    return citizen_id


class PhoneInUse(Exception):
    """Another citizen signs in with this phone."""


async def add_phone(
    core: AsyncConnection, citizen_id: uuid.UUID, phone: str, verified_by: str
) -> bool:
    """Give a citizen without a phone the one they will sign in with; False when they have
    this phone already. Raises PhoneInUse when another citizen has it."""
    citizens, identifiers = Citizen.__table__, CitizenIdentifier.__table__
    holder = await citizen_id_by_phone(core, phone)
    if holder == citizen_id:
        return False
    if holder is not None:
        raise PhoneInUse()
    await core.execute(
        sa.update(citizens)
        .where(citizens.c.id == citizen_id, citizens.c.phone.is_(None))
        .values(phone=phone)
    )
    await core.execute(
        sa.insert(identifiers).values(
            id=uuid.uuid4(),
            citizen_id=citizen_id,
            kind=IdentifierKind.PHONE.value,
            value=phone,
            verified=True,
            verified_by=verified_by[:100],
            verified_at=utcnow(),
        )
    )
    return True
