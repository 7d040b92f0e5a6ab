"""A citizen's identity: the claims they make, how claims become verified, and the
re-matching of records that a newly verified identifier may now link."""

import logging
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from auth.principal import PartnerPrincipal
from auth.scopes import Scope, Section
from models.audit import Actor, AuditAction, record
from models.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    normalize_insurance_number,
    normalize_national_id,
    normalize_phone_or_none,
)
from models.link import RecordStore, linked_record_ids
from models.matching import link_records
from models.profile import (
    AlreadyVerifiedElsewhere,
    Identifier,
    Profile,
    claim_date_of_birth,
    claim_identifier,
    claimants_by_phone,
    drop_date_of_birth_claim,
    mark_verified,
    profile_of,
    set_name_and_province,
)
from models.stores import Engines, Store, StoreUnavailable, reading
from models.verification import confirmation, records_carrying

log = logging.getLogger("healthgraph.identity")

_FIELD = {
    IdentifierKind.CCCD: "nationalId",
    IdentifierKind.CMND: "nationalId",
    IdentifierKind.BHYT: "insuranceNumber",
}


class IdentityProblem(Exception):
    """An expected refusal, told to the caller as a user error."""

    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


def not_confirmed() -> IdentityProblem:
    """The one answer a verifier gets when nothing can be verified, whether the citizen
    does not exist, is not one it may verify, or has not claimed these values: telling
    them apart would let a verifier probe who exists and what they claimed."""
    return IdentityProblem(
        "CLAIM_MISMATCH",
        "citizenId",
        "no citizen you may verify has claimed these values",
    )


@dataclass(frozen=True)
class Claims:
    """What a citizen says about themselves, or a verifier confirms (None: not given)."""

    full_name: str | None = None
    date_of_birth: date | None = None
    national_id: str | None = None
    insurance_number: str | None = None
    province_code: str | None = None


def _identifiers(claims: Claims) -> list[Identifier]:
    found: list[Identifier] = []
    try:
        if claims.national_id is not None:
            found.append(normalize_national_id(claims.national_id))
    except InvalidIdentifier as error:
        raise IdentityProblem("INVALID_VALUE", "nationalId", str(error)) from error
    try:
        if claims.insurance_number is not None:
            value = normalize_insurance_number(claims.insurance_number)
            found.append((IdentifierKind.BHYT, value))
    except InvalidIdentifier as error:
        raise IdentityProblem("INVALID_VALUE", "insuranceNumber", str(error)) from error
    return found


def _check_plain_fields(claims: Claims) -> None:
    if claims.full_name is not None and not 0 < len(claims.full_name.strip()) <= 200:
        raise IdentityProblem("INVALID_VALUE", "fullName", "a name has 1 to 200 characters")
    if claims.full_name is not None and any(
        unicodedata.category(c) == "Cc" for c in claims.full_name
    ):
        raise IdentityProblem("INVALID_VALUE", "fullName", "a name has no control characters")
    if claims.date_of_birth is not None and not (
        date(1900, 1, 1) <= claims.date_of_birth <= date.today()
    ):
        raise IdentityProblem("INVALID_VALUE", "dateOfBirth", "not a possible date of birth")
    code = claims.province_code
    if code is not None and not (len(code) == 2 and code.isascii() and code.isdigit()):
        raise IdentityProblem("INVALID_VALUE", "provinceCode", "a province code is two digits")


async def load_profile(engines: Engines, citizen_id: uuid.UUID) -> Profile | None:
    async with reading(engines, Store.CORE) as core:
        return await profile_of(core, citizen_id)


async def update_profile(engines: Engines, citizen_id: uuid.UUID, claims: Claims) -> Profile:
    """Record the citizen's claims, then verify what their records confirm."""
    _check_plain_fields(claims)
    identifiers = _identifiers(claims)
    async with reading(engines, Store.CORE) as core:
        profile = await profile_of(core, citizen_id)
        if profile is None:
            raise IdentityProblem("NOT_FOUND", None, "no such citizen")
        name = claims.full_name.strip() if claims.full_name is not None else None
        await set_name_and_province(core, citizen_id, name, claims.province_code)
        if claims.date_of_birth is not None:
            if claims.date_of_birth == profile.date_of_birth:
                await drop_date_of_birth_claim(core, citizen_id)
            else:
                await claim_date_of_birth(core, citizen_id, claims.date_of_birth)
        for kind, value in identifiers:
            verified = {i.value for i in profile.identifiers if i.kind is kind and i.verified}
            if value in verified:
                continue
            if verified:
                raise IdentityProblem(
                    "IDENTIFIER_ALREADY_VERIFIED",
                    _FIELD[kind],
                    f"your {kind.value} is verified already; a province office can correct it",
                )
            await claim_identifier(core, citizen_id, kind, value)
        await core.commit()
    await confirm_from_records(engines, citizen_id)
    updated = await load_profile(engines, citizen_id)
    assert updated is not None
    return updated


async def confirm_from_records(engines: Engines, citizen_id: uuid.UUID) -> bool:
    """Verify the claims that one of the citizen's records confirms; True if any were."""
    profile = await load_profile(engines, citizen_id)
    if profile is None or not profile.claimed():
        return False
    records = []
    for record_store in RecordStore:
        try:
            async with reading(engines, Store(record_store.value)) as connection:
                records += await records_carrying(connection, record_store, profile.claimed())
        except StoreUnavailable:
            log.warning("claims not checked against the %s store: unavailable", record_store)
    found = confirmation(profile, records)
    if found is None:
        return False
    try:
        await verify(engines, citizen_id, found.identifiers, found.date_of_birth, found.source)
    except IdentityProblem as problem:
        # Someone else holds it verified: the claim stays a claim, for a person to look at.
        log.warning("a record confirms a claim that is verified elsewhere: %s", problem.message)
        return False
    return True


async def confirm_claims_of_phones(engines: Engines, phones: Iterable[str | None]) -> int:
    """Call after records arrive: the citizens signed in with the phones they carry may now
    have claims that a record confirms. Returns how many citizens had claims verified."""
    normalised = sorted({p for p in map(normalize_phone_or_none, phones) if p is not None})
    if not normalised:
        return 0
    async with reading(engines, Store.CORE) as core:
        claimants = await claimants_by_phone(core, normalised)
    return sum([await confirm_from_records(engines, citizen_id) for citizen_id in claimants])


async def verify(
    engines: Engines,
    citizen_id: uuid.UUID,
    identifiers: Sequence[Identifier],
    date_of_birth: date | None,
    verified_by: str,
    audit: tuple[Actor, str] | None = None,
) -> None:
    async with reading(engines, Store.CORE) as core:
        try:
            await mark_verified(core, citizen_id, identifiers, date_of_birth, verified_by)
        except AlreadyVerifiedElsewhere as error:
            raise IdentityProblem(
                "IDENTIFIER_TAKEN",
                _FIELD.get(error.kind),
                f"this {error.kind.value} is verified for another account",
            ) from error
        if audit is not None:
            actor, request_id = audit
            entry = (citizen_id, [Section.IDENTITY.value])
            await record(core, actor, AuditAction.VERIFY, [entry], request_id)
        await core.commit()
    await relink(engines, citizen_id, identifiers)


async def relink(
    engines: Engines, citizen_id: uuid.UUID, identifiers: Sequence[Identifier]
) -> None:
    """Match again the records that carry the identifiers or the citizen's phone and birth
    date, and those linked to the citizen; a person's decision on a record stands."""
    async with reading(engines, Store.CORE) as core:
        profile = await profile_of(core, citizen_id)
        linked = (await linked_record_ids(core, [citizen_id]))[citizen_id]
    assert profile is not None
    for record_store in RecordStore:
        try:
            async with reading(engines, Store(record_store.value)) as connection:
                records = await records_carrying(
                    connection,
                    record_store,
                    identifiers,
                    profile.phone,
                    profile.date_of_birth,
                    linked[record_store],
                )
            async with reading(engines, Store.CORE) as core:
                await link_records(core, record_store, [r.to_link() for r in records])
                await core.commit()
        except StoreUnavailable:
            log.warning("records of the %s store not re-matched: unavailable", record_store)


@dataclass(frozen=True)
class Verified:
    identifiers: list[Identifier]
    date_of_birth: bool


async def verify_by_partner(
    engines: Engines,
    partner: PartnerPrincipal,
    citizen_id: uuid.UUID,
    claims: Claims,
    request_id: str,
) -> Verified:
    """A verifier confirms claims the citizen made; it cannot put words in their mouth."""
    identifiers = _identifiers(claims)
    profile = await load_profile(engines, citizen_id)
    if profile is None or not _may_verify(partner, profile):
        raise not_confirmed()
    claimed = set(profile.claimed())
    to_verify = []
    for kind, value in identifiers:
        if (kind, value) in claimed:
            to_verify.append((kind, value))
        elif any(i.kind is kind and i.value == value and i.verified for i in profile.identifiers):
            continue
        else:
            raise not_confirmed()
    birth = claims.date_of_birth
    if birth is not None and birth != profile.date_of_birth:
        if birth != profile.claimed_date_of_birth:
            raise not_confirmed()
    else:
        birth = None
    if not to_verify and birth is None:
        return Verified([], False)
    actor = Actor("PARTNER", str(partner.partner_id), partner.name)
    await verify(
        engines,
        citizen_id,
        to_verify,
        birth,
        f"partner:{partner.name}",
        audit=(actor, request_id),
    )
    return Verified(to_verify, birth is not None)


def _may_verify(partner: PartnerPrincipal, profile: Profile) -> bool:
    if partner.holds(Scope.IDENTITY_VERIFY):
        return True
    # A province operator verifies the citizens of its own province only.
    return (
        partner.holds(Scope.RECONCILE)
        and partner.province_code is not None
        and partner.province_code == profile.province_code
    )
