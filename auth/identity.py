"""A citizen's identity: the claims they make and how claims become verified; the records
that then match link by themselves (models.relinking)."""

import logging
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from auth.principal import PartnerPrincipal
from auth.scopes import Scope
from models import relinking
from models.audit import Actor
from models.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    fold_name,
    normalize_insurance_number,
    normalize_national_id,
)
from models.profile import (
    AlreadyVerifiedElsewhere,
    Identifier,
    Profile,
    claim_date_of_birth,
    claim_identifier,
    drop_date_of_birth_claim,
    profile_of,
    set_name_and_province,
)
from models.stores import Engines, Store, reading

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
    confirmed = await relinking.confirm_from_records(engines, citizen_id)
    if not confirmed and _name_decides_matches(profile, name):
        await relinking.relink(engines, citizen_id)
    updated = await load_profile(engines, citizen_id)
    assert updated is not None
    return updated


def _name_decides_matches(profile: Profile, name: str | None) -> bool:
    """A new name changes which records match by phone: those need the same name, once the
    birth date is verified."""
    return (
        name is not None
        and profile.date_of_birth is not None
        and fold_name(name) != fold_name(profile.full_name)
    )


async def verify(
    engines: Engines,
    citizen_id: uuid.UUID,
    identifiers: Sequence[Identifier],
    date_of_birth: date | None,
    verified_by: str,
    audit: tuple[Actor, str] | None = None,
) -> None:
    """Make the claims verified; the records that now match link by themselves."""
    try:
        await relinking.verify(engines, citizen_id, identifiers, date_of_birth, verified_by, audit)
    except AlreadyVerifiedElsewhere as error:
        raise IdentityProblem(
            "IDENTIFIER_TAKEN",
            _FIELD.get(error.kind),
            f"this {error.kind.value} is verified for another account",
        ) from error


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
