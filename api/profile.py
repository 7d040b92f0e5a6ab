"""A citizen's profile: the name they go by, and their identity claims and what is verified."""

import datetime as dt

import strawberry

from api.nodes import parse_typed_node_id
from api.user_errors import UserError, user_error
from auth.identity import (
    Claims,
    IdentityProblem,
    not_confirmed,
    update_profile,
    verify_by_partner,
)
from auth.permissions import IsCitizen, VerifiesIdentity
from models.identifiers import IdentifierKind as IdentifierKindEnum
from models.profile import HeldIdentifier
from models.profile import Profile as ProfileRow

strawberry.enum(IdentifierKindEnum, name="IdentifierKind")


@strawberry.type
class Identifier:
    kind: IdentifierKindEnum
    value: str
    verified: bool = strawberry.field(description="Only verified identifiers link records.")
    verified_at: dt.datetime | None


@strawberry.type
class Profile:
    full_name: str
    date_of_birth: dt.date | None = strawberry.field(
        description="As verified, or as claimed while awaiting verification."
    )
    date_of_birth_verified: bool
    province_code: str | None
    district: str | None
    identifiers: list[Identifier]


@strawberry.type
class ProfilePayload:
    profile: Profile | None
    user_errors: list[UserError]


@strawberry.input
class ProfileInput:
    full_name: str | None = None
    date_of_birth: dt.date | None = None
    national_id: str | None = strawberry.field(
        default=None, description="12-digit CCCD or 9-digit CMND."
    )
    insurance_number: str | None = None
    province_code: str | None = None


@strawberry.input
class VerifyIdentityInput:
    citizen_id: strawberry.ID
    national_id: str | None = None
    insurance_number: str | None = None
    date_of_birth: dt.date | None = None


@strawberry.type
class VerifyIdentityPayload:
    verified: list[IdentifierKindEnum]
    date_of_birth_verified: bool
    user_errors: list[UserError]


def _identifier(held: HeldIdentifier) -> Identifier:
    return Identifier(
        kind=held.kind, value=held.value, verified=held.verified, verified_at=held.verified_at
    )


def profile_from(row: ProfileRow) -> Profile:
    return Profile(
        full_name=row.full_name,
        date_of_birth=row.claimed_date_of_birth or row.date_of_birth,
        date_of_birth_verified=row.claimed_date_of_birth is None and row.date_of_birth is not None,
        province_code=row.province_code,
        district=row.district,
        identifiers=[_identifier(held) for held in row.identifiers],
    )


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="Set your name and claim your date of birth and identifiers. Claims link "
    "records only once verified, which happens at once when one of your records confirms them.",
)
async def update_my_profile(info: strawberry.Info, input: ProfileInput) -> ProfilePayload:
    claims = Claims(
        full_name=input.full_name,
        date_of_birth=input.date_of_birth,
        national_id=input.national_id,
        insurance_number=input.insurance_number,
        province_code=input.province_code,
    )
    try:
        row = await update_profile(
            info.context.services.engines, info.context.principal.citizen_id, claims
        )
    except IdentityProblem as problem:
        return ProfilePayload(
            profile=None, user_errors=[user_error(problem.code, problem.message, problem.field)]
        )
    return ProfilePayload(profile=profile_from(row), user_errors=[])


@strawberry.mutation(
    permission_classes=[VerifiesIdentity],
    description="Confirm identity claims a citizen made (identity partners, province offices).",
)
async def verify_identity(
    info: strawberry.Info, input: VerifyIdentityInput
) -> VerifyIdentityPayload:
    citizen_id = parse_typed_node_id(input.citizen_id, "Citizen")
    claims = Claims(
        date_of_birth=input.date_of_birth,
        national_id=input.national_id,
        insurance_number=input.insurance_number,
    )
    try:
        if citizen_id is None:
            raise not_confirmed()
        verified = await verify_by_partner(
            info.context.services.engines,
            info.context.principal,
            citizen_id,
            claims,
            info.context.request_id,
        )
    except IdentityProblem as problem:
        return VerifyIdentityPayload(
            verified=[],
            date_of_birth_verified=False,
            user_errors=[user_error(problem.code, problem.message, problem.field)],
        )
    return VerifyIdentityPayload(
        verified=[kind for kind, _ in verified.identifiers],
        date_of_birth_verified=verified.date_of_birth,
        user_errors=[],
    )
