"""Citizens a province office registers in person: people without a phone, known by the
national ID or insurance number on the card they show (core store)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import utcnow
from models.checkin import CheckIn, link_unlinked_check_ins, revoke_card
from models.citizen import Citizen, CitizenIdentifier, citizen_id_by_phone
from models.consent import Consent
from models.exposure_alert import ExposureAlert
from models.health_pass import Revoker, revoke_live_pass
from models.identifiers import IdentifierKind
from models.link import RecordLink
from models.profile import Identifier, ProfileClaim
from models.record_issue import RecordIssue
from models.session import revoke_citizen_sessions


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


async def insert_registered(
    core: AsyncConnection, new: NewCitizen, verified_by: str, citizen_id: uuid.UUID | None = None
) -> uuid.UUID:
    """The citizen, without a phone, with their identifiers verified by the office that saw
    their card. Raises IntegrityError when another citizen got one of the identifiers
    verified meanwhile (the caller rolls back and looks again)."""
    citizen_id = citizen_id or uuid.uuid4()
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
    """Another citizen's account signs in with this phone and holds more than the phone."""


class PhoneAdded(StrEnum):
    ADDED = "ADDED"
    # The citizen had this phone already: nothing changed.
    ALREADY = "ALREADY"
    # The phone came from an account its owner made by signing in before the office added
    # it, which held nothing verified but the phone: that account's history joined them.
    JOINED = "JOINED"


async def _bare_account(core: AsyncConnection, citizen_id: uuid.UUID) -> bool:
    """An account that holds nothing verified but the phone it signed in with: no other
    verified identifier, no verified birth date, no record linked to it."""
    citizens, identifiers, links = (
        Citizen.__table__,
        CitizenIdentifier.__table__,
        RecordLink.__table__,
    )
    query = sa.select(
        sa.and_(
            sa.exists().where(citizens.c.id == citizen_id, citizens.c.date_of_birth.is_(None)),
            ~sa.exists().where(
                identifiers.c.citizen_id == citizen_id,
                identifiers.c.verified.is_(True),
                identifiers.c.kind != IdentifierKind.PHONE.value,
            ),
            ~sa.exists().where(links.c.citizen_id == citizen_id),
        )
    )
    return bool((await core.execute(query)).scalar())


async def _hand_over(core: AsyncConnection, bare_id: uuid.UUID, to_id: uuid.UUID) -> None:
    """The bare account's check-ins, exposure alerts and record reports become the
    citizen's; the account keeps nothing to sign in with (its phone, claims, sessions,
    health pass, card and consents end)."""
    for table in (CheckIn.__table__, ExposureAlert.__table__, RecordIssue.__table__):
        await core.execute(
            sa.update(table).where(table.c.citizen_id == bare_id).values(citizen_id=to_id)
        )
    identifiers, claims, consents = (
        CitizenIdentifier.__table__,
        ProfileClaim.__table__,
        Consent.__table__,
    )
    await core.execute(sa.delete(identifiers).where(identifiers.c.citizen_id == bare_id))
    await core.execute(sa.delete(claims).where(claims.c.citizen_id == bare_id))
    await core.execute(
        sa.update(consents)
        .where(consents.c.citizen_id == bare_id, consents.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await revoke_citizen_sessions(core, bare_id)
    await revoke_live_pass(core, bare_id, Revoker.OPERATOR)
    await revoke_card(core, bare_id)
    citizens = Citizen.__table__
    await core.execute(sa.update(citizens).where(citizens.c.id == bare_id).values(phone=None))


async def phone_in_use(core: AsyncConnection, citizen_id: uuid.UUID, phone: str) -> bool:
    """Another account signs in with this phone and holds more than the phone (add_phone
    would raise PhoneInUse)."""
    holder = await citizen_id_by_phone(core, phone)
    return holder is not None and holder != citizen_id and not await _bare_account(core, holder)


async def add_phone(
    core: AsyncConnection, citizen_id: uuid.UUID, phone: str, verified_by: str
) -> PhoneAdded:
    """Give a citizen without a phone the one they will sign in with. Raises PhoneInUse
    when another account signs in with it and holds more than the phone."""
    citizens, identifiers = Citizen.__table__, CitizenIdentifier.__table__
    holder = await citizen_id_by_phone(core, phone)
    if holder == citizen_id:
        return PhoneAdded.ALREADY
    if holder is not None:
        # Both accounts take turns with a sign-in creating one for this phone.
        await core.execute(
            sa.select(citizens.c.id).where(citizens.c.id == holder).with_for_update()
        )
        if not await _bare_account(core, holder):
            raise PhoneInUse()
        await _hand_over(core, holder, citizen_id)
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
    return PhoneAdded.JOINED if holder is not None else PhoneAdded.ADDED
