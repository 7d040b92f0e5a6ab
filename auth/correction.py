"""A province office corrects a citizen's details it mistyped: name, date of birth, district,
national ID, insurance number, for citizens of its own province.

What the office types is verified, as at registration: it saw the card. After a change of
identifiers, birth date or name, the citizen's records are matched again through the one
relinking function: records that no longer match leave them, records that now match join
them, and a record a person linked or dismissed by hand stays as decided.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from auth.registration import (
    FIELD,
    Office,
    Problem,
    RegistrationRefused,
    check_birth_date,
    check_text,
    checked_identifiers,
    citizen_of_province,
)
from auth.scopes import Section
from models.audit import AuditAction, record
from models.correction import Correction, apply_correction, replaced_kinds
from models.health_pass import Revoker, revoke_live_pass
from models.profile import Identifier, Profile, profile_of
from models.registration import verified_holders
from models.relinking import relink
from models.stores import Engines, Store, reading


@dataclass(frozen=True)
class CorrectionRequest:
    """As the office typed it; None leaves a detail as it is."""

    full_name: str | None = None
    date_of_birth: date | None = None
    district: str | None = None
    national_id: str | None = None
    insurance_number: str | None = None


@dataclass(frozen=True)
class Corrected:
    # False: everything typed was what the citizen holds already, and nothing changed.
    changed: bool
    profile: Profile


def _what_changes(profile: Profile, given: CorrectionRequest) -> Correction:
    """The corrections that differ from what the citizen holds; RegistrationRefused names
    every bad field."""
    problems: list[Problem] = []
    name = district = None
    if given.full_name is not None:
        name = check_text(problems, given.full_name, "fullName", 200)
    if given.district is not None:
        district = check_text(problems, given.district, "district", 100)
    if given.date_of_birth is not None:
        check_birth_date(problems, given.date_of_birth)
    identifiers = checked_identifiers(problems, given.national_id, given.insurance_number)
    if problems:
        raise RegistrationRefused(problems)
    birth = given.date_of_birth
    return Correction(
        full_name=name if name is not None and name != profile.full_name else None,
        date_of_birth=birth
        if birth is not None
        and (birth != profile.date_of_birth or profile.claimed_date_of_birth is not None)
        else None,
        district=district if district is not None and district != profile.district else None,
        identifiers=tuple(i for i in identifiers if not _holds_only(profile, i)),
    )


def _holds_only(profile: Profile, identifier: Identifier) -> bool:
    """The citizen holds this identifier verified, and nothing else it would replace."""
    kinds = replaced_kinds(identifier[0])
    held = [(i.kind, i.value, i.verified) for i in profile.identifiers if i.kind in kinds]
    return held == [(*identifier, True)]


def _taken(identifiers: Sequence[Identifier]) -> RegistrationRefused:
    return RegistrationRefused(
        [
            Problem(
                "IDENTIFIER_TAKEN",
                FIELD[kind],
                f"this {kind.value} belongs to another citizen: check the card again",
            )
            for kind, _ in identifiers
        ]
    )


async def correct_citizen(
    engines: Engines,
    office: Office,
    citizen_id: uuid.UUID | None,
    given: CorrectionRequest,
    request_id: str,
) -> Corrected:
    """Correct the citizen's details; raises RegistrationRefused (nothing written)."""
    profile = await citizen_of_province(engines, office, citizen_id)
    if profile is None:
        raise RegistrationRefused(
            [Problem("NOT_FOUND", "citizenId", "no such citizen in your province")]
        )
    correction = _what_changes(profile, given)
    if correction == Correction():
        return Corrected(False, profile)
    async with reading(engines, Store.CORE) as core:
        holders = await verified_holders(core, correction.identifiers)
        others = [i for i, holder in holders.items() if holder != profile.citizen_id]
        if others:
            raise _taken(others)
        try:
            await apply_correction(core, profile.citizen_id, correction, office.signature)
        except IntegrityError:
            # Verified for another citizen at the same moment.
            await core.rollback()
            raise _taken(correction.identifiers) from None
        if correction.identifiers or correction.date_of_birth or correction.full_name:
            # The pass shows the name and birth date, and its colour the records that may
            # leave now: the next read mints the right one.
            await revoke_live_pass(core, profile.citizen_id, Revoker.OPERATOR)
        sections = [Section.PROFILE.value, Section.IDENTITY.value]
        entry = (profile.citizen_id, sections)
        await record(core, office.actor, AuditAction.CORRECT, [entry], request_id)
        await core.commit()
    if correction.identifiers or correction.date_of_birth or correction.full_name:
        # The name matters too: a match by phone and birth date needs the same name.
        await relink(engines, profile.citizen_id)
    async with reading(engines, Store.CORE) as core:
        corrected = await profile_of(core, profile.citizen_id)
    assert corrected is not None
    return Corrected(True, corrected)
