"""Province offices register citizens who have no phone (and give them one later)."""

import datetime as dt

import strawberry
from strawberry import relay

from api.nodes import parse_typed_node_id
from api.profile import Profile, profile_from
from api.user_errors import UserError, user_error
from auth.permissions import Reconciles
from auth.registration import (
    Office,
    Registration,
    RegistrationRefused,
    give_phone,
    register_citizen,
)
from models.registration import PhoneAdded


@strawberry.input
class RegisterCitizenInput:
    full_name: str
    date_of_birth: dt.date
    province_code: str | None = strawberry.field(
        default=None, description="Your province (the default); no other is accepted."
    )
    district: str | None = None
    national_id: str | None = strawberry.field(
        default=None, description="12-digit CCCD or 9-digit CMND, as on the card shown."
    )
    insurance_number: str | None = strawberry.field(
        default=None, description="The health-insurance (BHYT) number, as on the card shown."
    )


@strawberry.type
class RegisterCitizenPayload:
    citizen_id: strawberry.ID | None = strawberry.field(
        description="The registered citizen (a Citizen ID); with an ALREADY_REGISTERED "
        "error, the citizen who holds the identifier, when they are of your province."
    )
    created: bool = strawberry.field(
        description="False when the same registration was made before: nothing changed."
    )
    profile: Profile | None
    user_errors: list[UserError]


def _refused(refused: RegistrationRefused) -> list[UserError]:
    return [user_error(p.code, p.message, p.field) for p in refused.problems]


def _citizen_id(citizen_id: object) -> strawberry.ID:
    return strawberry.ID(relay.to_base64("Citizen", str(citizen_id)))


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Register a citizen of your province who has no phone, from the ID or "
    "insurance card they show (at least one of the two numbers): the numbers are verified "
    "at once, so records carrying them link to the citizen. Registering the same person "
    "again gives the same citizen (created: false) and changes nothing; an identifier "
    "already verified for someone else is refused. The citizen sees it in their access log.",
)
async def register_citizen_without_phone(
    info: strawberry.Info, input: RegisterCitizenInput
) -> RegisterCitizenPayload:
    given = Registration(
        full_name=input.full_name,
        date_of_birth=input.date_of_birth,
        province_code=input.province_code,
        district=input.district,
        national_id=input.national_id,
        insurance_number=input.insurance_number,
    )
    try:
        registered = await register_citizen(
            info.context.services.engines,
            Office.of(info.context.principal),
            given,
            info.context.request_id,
        )
    except RegistrationRefused as refused:
        return RegisterCitizenPayload(
            citizen_id=_citizen_id(refused.citizen_id) if refused.citizen_id else None,
            created=False,
            profile=None,
            user_errors=_refused(refused),
        )
    return RegisterCitizenPayload(
        citizen_id=_citizen_id(registered.citizen_id),
        created=registered.created,
        profile=profile_from(registered.profile),
        user_errors=[],
    )


@strawberry.type
class AddCitizenPhonePayload:
    added: bool = strawberry.field(description="False when the citizen had this phone already.")
    account_joined: bool = strawberry.field(
        description="The person had signed in with this phone before, making an account "
        "that held nothing verified but the phone: its check-ins, exposure alerts and record "
        "reports are now this citizen's, and it no longer signs in."
    )
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Give a citizen of your province who was registered without a phone the "
    "phone they will sign in with (type it from the phone the person holds). An account the "
    "person made by signing in with it before, holding nothing verified but the phone, joins "
    "the citizen; a phone of an account holding more is refused.",
)
async def add_citizen_phone(
    info: strawberry.Info, citizen_id: strawberry.ID, phone: str
) -> AddCitizenPhonePayload:
    try:
        added = await give_phone(
            info.context.services.engines,
            Office.of(info.context.principal),
            parse_typed_node_id(citizen_id, "Citizen"),
            phone,
            info.context.request_id,
        )
    except RegistrationRefused as refused:
        return AddCitizenPhonePayload(
            added=False, account_joined=False, user_errors=_refused(refused)
        )
    return AddCitizenPhonePayload(
        added=added is not PhoneAdded.ALREADY,
        account_joined=added is PhoneAdded.JOINED,
        user_errors=[],
    )
