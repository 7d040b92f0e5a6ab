"""A province office corrects the details it typed for a citizen (core store): name, birth
date, district, the national ID (replacing every national ID the citizen held, CCCD and
CMND alike: a number typed as the wrong kind must not stay) and the insurance number."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import utcnow
from models.checkin import CheckIn, link_unlinked_check_ins
from models.citizen import Citizen, CitizenIdentifier
from models.identifiers import IdentifierKind
from models.profile import Identifier, drop_date_of_birth_claim

NATIONAL_IDS = (IdentifierKind.CCCD, IdentifierKind.CMND)


def replaced_kinds(kind: IdentifierKind) -> tuple[IdentifierKind, ...]:
    """The kinds of identifier a new one of this kind replaces."""
    return NATIONAL_IDS if kind in NATIONAL_IDS else (kind,)


@dataclass(frozen=True)
class Correction:
    """Only what changes; identifiers normalised."""

    full_name: str | None = None
    date_of_birth: date | None = None
    district: str | None = None
    identifiers: Sequence[Identifier] = ()


async def apply_correction(
    core: AsyncConnection, citizen_id: uuid.UUID, correction: Correction, verified_by: str
) -> None:
    """Write the correction in the caller's transaction. A new identifier replaces every one
    the citizen held of the kinds it replaces (verified or claimed); staff scans kept under
    a replaced insurance number leave the citizen (the card scanned was not theirs) and
    those under the new one join them. Raises IntegrityError when another citizen holds a
    new identifier verified."""
    citizens, identifiers = Citizen.__table__, CitizenIdentifier.__table__
    values: dict[str, Any] = {}
    if correction.full_name is not None:
        values["full_name"] = correction.full_name
    if correction.date_of_birth is not None:
        values["date_of_birth"] = correction.date_of_birth
        await drop_date_of_birth_claim(core, citizen_id)
    if correction.district is not None:
        values["district"] = correction.district
    if values:
        await core.execute(sa.update(citizens).where(citizens.c.id == citizen_id).values(values))
    now = utcnow()
    for kind, value in correction.identifiers:
        replaced = await core.execute(
            sa.delete(identifiers)
            .where(
                identifiers.c.citizen_id == citizen_id,
                identifiers.c.kind.in_([k.value for k in replaced_kinds(kind)]),
            )
            .returning(identifiers.c.value, identifiers.c.verified)
        )
        statement = sa.insert(identifiers).values(
            id=uuid.uuid4(),
            citizen_id=citizen_id,
            kind=kind.value,
            value=value,
            verified=True,
            verified_by=verified_by[:100],
            verified_at=now,
        )
        await core.execute(statement)
        if kind is IdentifierKind.BHYT:
            old = [row.value for row in replaced.all() if row.value != value]
            await _unlink_check_ins(core, citizen_id, old)
            await link_unlinked_check_ins(core, citizen_id, [value])


async def _unlink_check_ins(
    core: AsyncConnection, citizen_id: uuid.UUID, insurance_numbers: Sequence[str]
) -> None:
    if not insurance_numbers:
        return
    check_ins = CheckIn.__table__
    await core.execute(
        sa.update(check_ins)
        .where(
            check_ins.c.citizen_id == citizen_id,
            check_ins.c.insurance_number.in_(list(insurance_numbers)),
        )
        .values(citizen_id=None)
    )
