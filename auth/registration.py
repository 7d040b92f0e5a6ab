"""A province office registers a citizen who has no phone, from the ID or insurance card
they show, and may later give them the phone they will sign in with, once the code sent
to that phone comes back through the office (a mistyped number never reaches anyone's data).

The office saw the card, so the identifiers it types are verified at once: records
carrying them link to the citizen, and staff scans of the insurance number join them.
The same person is never registered twice: a national ID or insurance number already
verified for a citizen answers with that citizen (when the details agree) or refuses
(when they do not), and nothing is written either way.
"""

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.principal import PartnerPrincipal
from auth.scopes import Scope, Section
from auth.signin import Challenge, SignIn, SignInRefused
from auth.signin import Problem as SignInProblem
from models.audit import Actor, AuditAction, record
from models.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    fold_name,
    normalize_insurance_number,
    normalize_national_id,
    normalize_phone,
)
from models.otp import confirmed_phone
from models.partner import find_partner
from models.profile import Identifier, Profile, profile_of, profiles
from models.provinces import PROVINCE_CODES
from models.registration import (
    NewCitizen,
    PhoneAdded,
    PhoneInUse,
    add_phone,
    insert_registered,
    phone_in_use,
    verified_holders,
)
from models.relinking import relink
from models.stores import Engines, Store, reading

FIELD = {
    IdentifierKind.CCCD: "nationalId",
    IdentifierKind.CMND: "nationalId",
    IdentifierKind.BHYT: "insuranceNumber",
}


@dataclass(frozen=True)
class Office:
    """A province office at work: a partner holding `reconcile` for one province, through
    its token or at the command line."""

    partner_id: uuid.UUID
    name: str
    province_code: str

    @classmethod
    def of(cls, principal: PartnerPrincipal) -> "Office":
        assert principal.province_code is not None, "checked by the Reconciles permission"
        return cls(principal.partner_id, principal.name, principal.province_code)

    @property
    def actor(self) -> Actor:
        return Actor("PARTNER", str(self.partner_id), self.name)

    @property
    def signature(self) -> str:
        """Who verified an identifier or issued a card, as kept beside it."""
        return f"partner:{self.name}"


async def office_named(core: AsyncConnection, name_or_id: str) -> Office | None:
    """The live partner of that name or ID, when it is a province office."""
    row = await find_partner(core, name_or_id)
    if (
        row is None
        or row.revoked_at is not None
        or Scope.RECONCILE.value not in row.scopes
        or row.province_code is None
    ):
        return None
    return Office(row.id, row.name, row.province_code)


@dataclass(frozen=True)
class Problem:
    code: str
    field: str | None
    message: str


class RegistrationRefused(Exception):
    """Every problem with the input (or the one reason it cannot be done); nothing written.
    citizen_id names the citizen already registered, when the office may act on them."""

    def __init__(self, problems: list[Problem], citizen_id: uuid.UUID | None = None) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.citizen_id = citizen_id


@dataclass(frozen=True)
class Registration:
    """As the office typed it."""

    full_name: str
    date_of_birth: date
    province_code: str | None = None
    district: str | None = None
    national_id: str | None = None
    insurance_number: str | None = None


@dataclass(frozen=True)
class Registered:
    citizen_id: uuid.UUID
    # False: the same person was registered already (a replay), and nothing changed.
    created: bool
    profile: Profile


def check_text(problems: list[Problem], value: str, name: str, longest: int) -> str:
    """The text with its spacing folded; a problem named after the field when it is empty,
    too long or carries control characters."""
    text = " ".join(value.split())
    if not 0 < len(text) <= longest:
        problems.append(Problem("INVALID_VALUE", name, f"give 1 to {longest} characters"))
    elif any(unicodedata.category(c) == "Cc" for c in value):
        problems.append(Problem("INVALID_VALUE", name, "no control characters"))
    return text


def check_birth_date(problems: list[Problem], born: date) -> None:
    if not date(1900, 1, 1) <= born <= date.today():
        problems.append(Problem("INVALID_VALUE", "dateOfBirth", "not a possible date of birth"))


def checked_identifiers(
    problems: list[Problem], national_id: str | None, insurance_number: str | None
) -> list[Identifier]:
    """The national ID and insurance number as typed, normalised (those given)."""
    identifiers: list[Identifier] = []
    if national_id:
        try:
            identifiers.append(normalize_national_id(national_id))
        except InvalidIdentifier as error:
            problems.append(Problem("INVALID_IDENTIFIER", "nationalId", str(error)))
    if insurance_number:
        try:
            identifiers.append((IdentifierKind.BHYT, normalize_insurance_number(insurance_number)))
        except InvalidIdentifier as error:
            problems.append(Problem("INVALID_IDENTIFIER", "insuranceNumber", str(error)))
    return identifiers


def _checked(office: Office, given: Registration) -> NewCitizen:
    problems: list[Problem] = []
    name = check_text(problems, given.full_name, "fullName", 200)
    check_birth_date(problems, given.date_of_birth)
    province = (given.province_code or office.province_code or "").strip()
    if province not in PROVINCE_CODES:
        problems.append(Problem("UNKNOWN_PROVINCE", "provinceCode", "not a province code"))
    elif province != office.province_code:
        problems.append(
            Problem(
                "PROVINCE_NOT_SERVED", "provinceCode", "you register citizens of your province only"
            )
        )
    district = None
    if given.district is not None:
        district = check_text(problems, given.district, "district", 100)
    identifiers = checked_identifiers(problems, given.national_id, given.insurance_number)
    if not given.national_id and not given.insurance_number:
        problems.append(
            Problem(
                "REQUIRED",
                "nationalId",
                "give the national ID or the insurance number (or both): records find the "
                "citizen by them",
            )
        )
    if problems:
        raise RegistrationRefused(problems)
    return NewCitizen(name, given.date_of_birth, province, district, identifiers)


def _same_person(profile: Profile, new: NewCitizen) -> bool:
    """Everything the office typed is what the registered citizen already holds verified."""
    held = {(i.kind, i.value) for i in profile.identifiers if i.verified}
    return (
        set(new.identifiers) <= held
        and profile.date_of_birth == new.date_of_birth
        and profile.claimed_date_of_birth is None
        and fold_name(profile.full_name) == fold_name(new.full_name)
        and profile.province_code == new.province_code
    )


def _already_registered(
    office: Office,
    new: NewCitizen,
    holders: dict[Identifier, uuid.UUID],
    found: dict[uuid.UUID, Profile],
) -> Registered:
    """The answer when a citizen holds one of the identifiers: theirs when it is the same
    registration again, else a refusal naming what is taken."""
    citizens = set(holders.values())
    if len(citizens) > 1:
        raise RegistrationRefused(
            [
                Problem(
                    "IDENTIFIER_TAKEN",
                    FIELD[kind],
                    f"this {kind.value} belongs to another citizen than the other identifier "
                    "given: correct the one that was mistyped",
                )
                for kind, _ in holders
            ]
        )
    (citizen_id,) = citizens
    profile = found.get(citizen_id)
    ours = profile is not None and profile.province_code == office.province_code
    if profile is not None and ours and _same_person(profile, new):
        return Registered(citizen_id, False, profile)
    raise RegistrationRefused(
        [
            Problem(
                "ALREADY_REGISTERED",
                FIELD[kind],
                f"a citizen with this {kind.value} is registered already"
                + ("" if ours else " (in another province)")
                + ": a citizen is never registered twice",
            )
            for kind, _ in holders
        ],
        citizen_id if ours else None,
    )


async def register_citizen(
    engines: Engines,
    office: Office,
    given: Registration,
    request_id: str,
    new_id: uuid.UUID | None = None,
) -> Registered:
    """Register the citizen (or find them registered already); raises RegistrationRefused.
    new_id: the ID a new citizen gets (the demo data's IDs are the same on every run)."""
    new = _checked(office, given)
    verified_by = office.signature
    for attempt in range(2):
        async with reading(engines, Store.CORE) as core:
            holders = await verified_holders(core, new.identifiers)
            if holders:
                found = await profiles(core, list(set(holders.values())))
                return _already_registered(office, new, holders, found)
            try:
                citizen_id = await insert_registered(core, new, verified_by, new_id)
            except IntegrityError:
                # Registered at the same moment by another request: answer as a replay.
                await core.rollback()
                if attempt == 0:
                    continue
                raise
            sections = [Section.PROFILE.value, Section.IDENTITY.value]
            entry = (citizen_id, sections)
            await record(core, office.actor, AuditAction.REGISTER, [entry], request_id)
            await core.commit()
            break
    await relink(engines, citizen_id)
    async with reading(engines, Store.CORE) as core:
        profile = await profile_of(core, citizen_id)
    assert profile is not None
    return Registered(citizen_id, True, profile)


async def citizen_of_province(
    engines: Engines, office: Office, citizen_id: uuid.UUID | None
) -> Profile | None:
    """The citizen, when they live in the office's province; else None (unknown and
    elsewhere look the same)."""
    if citizen_id is None:
        return None
    async with reading(engines, Store.CORE) as core:
        profile = await profile_of(core, citizen_id)
    if profile is None or profile.province_code != office.province_code:
        return None
    return profile


def _phone_in_use() -> RegistrationRefused:
    return RegistrationRefused(
        [
            Problem(
                "PHONE_IN_USE",
                "phone",
                "another account signs in with this phone and holds verified identifiers or "
                "records: a province office resolves it by hand",
            )
        ]
    )


def _not_found() -> RegistrationRefused:
    return RegistrationRefused(
        [Problem("NOT_FOUND", "citizenId", "no such citizen in your province")]
    )


def _phone_already_set() -> RegistrationRefused:
    return RegistrationRefused(
        [Problem("PHONE_ALREADY_SET", "phone", "this citizen signs in with another phone")]
    )


def _sign_in_refused(refused: SignInRefused) -> RegistrationRefused:
    return RegistrationRefused([Problem(refused.problem.value, refused.field, refused.message)])


async def request_phone(
    engines: Engines,
    sign_in: SignIn,
    office: Office,
    citizen_id: uuid.UUID | None,
    raw_phone: str,
    client_address: str,
) -> Challenge | None:
    """First step of giving a registered citizen the phone they will sign in with: a code
    goes to that phone, under the sign-in codes' limits and lifetime, and only the office
    that asked can confirm it (confirm_phone). None when the citizen has this phone already
    (nothing is sent). Raises RegistrationRefused, or RateLimited."""
    profile = await citizen_of_province(engines, office, citizen_id)
    if profile is None:
        raise _not_found()
    try:
        phone = normalize_phone(raw_phone)
    except InvalidIdentifier as error:
        raise RegistrationRefused([Problem("INVALID_PHONE", "phone", str(error))]) from error
    if profile.phone == phone:
        return None
    if profile.phone is not None:
        raise _phone_already_set()
    async with reading(engines, Store.CORE) as core:
        # Checked again on confirmation; here it spares the person a code that cannot work.
        if await phone_in_use(core, profile.citizen_id, phone):
            raise _phone_in_use()
    try:
        return await sign_in.send_code(phone, client_address, office.partner_id, profile.citizen_id)
    except SignInRefused as refused:
        raise _sign_in_refused(refused) from refused


async def confirm_phone(
    engines: Engines,
    sign_in: SignIn,
    office: Office,
    raw_challenge_id: str,
    code: str,
    client_address: str,
    request_id: str,
) -> PhoneAdded:
    """Second step: the code the person reads from their phone. Only when it is right (for
    a confirmation this office asked for, within its lifetime and attempts) does the citizen
    get the phone. When the person signed in with it before, making an account that holds
    nothing verified but the phone, that account's history joins the citizen and it can no
    longer sign in; an account holding more is PHONE_IN_USE. Confirming the same challenge
    again answers ALREADY. Raises RegistrationRefused, or RateLimited."""
    await sign_in.limit_verifications(client_address)
    try:
        challenge_id = uuid.UUID(raw_challenge_id)
    except ValueError:
        challenge_id = uuid.UUID(int=0)
    async with reading(engines, Store.CORE) as core:
        outcome = await sign_in.check_code(core, challenge_id, code, office.partner_id)
        if isinstance(outcome, SignInRefused):
            if outcome.problem is SignInProblem.CODE_ALREADY_USED:
                confirmed = await confirmed_phone(core, challenge_id, office.partner_id)
                if confirmed is not None:
                    holder = await profile_of(core, confirmed[0])
                    if holder is not None and holder.phone == confirmed[1]:
                        return PhoneAdded.ALREADY
            # The attempt counts.
            await core.commit()
            raise _sign_in_refused(outcome)
        assert outcome.citizen_id is not None, "an office's confirmation names its citizen"
        phone = outcome.phone
        profile = await profile_of(core, outcome.citizen_id)
        refusal: RegistrationRefused | None = None
        added = PhoneAdded.ALREADY
        if profile is None or profile.province_code != office.province_code:
            refusal = _not_found()
        elif profile.phone is not None and profile.phone != phone:
            refusal = _phone_already_set()
        else:
            try:
                async with core.begin_nested():
                    added = await add_phone(core, profile.citizen_id, phone, office.signature)
            except (PhoneInUse, IntegrityError):
                refusal = _phone_in_use()
        if refusal is None and added is not PhoneAdded.ALREADY:
            entry = (outcome.citizen_id, [Section.IDENTITY.value])
            await record(core, office.actor, AuditAction.ADD_PHONE, [entry], request_id)
        # The code is spent whatever the answer.
        await core.commit()
    if refusal is not None:
        raise refusal
    if added is not PhoneAdded.ALREADY:
        # Records typed with this phone and the citizen's birth date and name may link now.
        await relink(engines, outcome.citizen_id)
    return added
