"""Province offices register citizens who have no phone (and give them one later, confirmed
by a code sent to it)."""

import datetime as dt

import strawberry
from strawberry import relay

from api.auth import (
    OtpChallenge,
    client_address,
    core_store,
    otp_challenge_from,
    rate_limited,
    sign_in_service,
)
from api.nodes import parse_typed_node_id
from api.profile import Profile, profile_from
from api.user_errors import UserError, user_error
from auth.permissions import Reconciles
from auth.registration import (
    Office,
    Registration,
    RegistrationRefused,
    confirm_phone,
    register_citizen,
    request_phone,
)
from auth.signin import RateLimited
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
class RequestCitizenPhoneCodePayload:
    challenge: OtpChallenge | None = strawberry.field(
        description="The code sent to the phone: confirmCitizenPhone takes its ID and the "
        "code the person reads from their phone."
    )
    already_added: bool = strawberry.field(
        description="The citizen has this phone already: no code was sent."
    )
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="First step of giving a citizen of your province who was registered without "
    "a phone the phone they will sign in with: a code goes by SMS to that phone (the same "
    "limits and lifetime as a sign-in code). Nothing changes until confirmCitizenPhone "
    "returns that code, so a mistyped number reaches no one's data.",
)
async def request_citizen_phone_code(
    info: strawberry.Info, citizen_id: strawberry.ID, phone: str
) -> RequestCitizenPhoneCodePayload:
    try:
        with core_store():
            challenge = await request_phone(
                info.context.services.engines,
                sign_in_service(info),
                Office.of(info.context.principal),
                parse_typed_node_id(citizen_id, "Citizen"),
                phone,
                client_address(info),
            )
    except RateLimited as error:
        raise rate_limited(error) from None
    except RegistrationRefused as refused:
        return RequestCitizenPhoneCodePayload(
            challenge=None, already_added=False, user_errors=_refused(refused)
        )
    return RequestCitizenPhoneCodePayload(
        challenge=otp_challenge_from(challenge) if challenge else None,
        already_added=challenge is None,
        user_errors=[],
    )


@strawberry.type
class ConfirmCitizenPhonePayload:
    added: bool = strawberry.field(
        description="False when the citizen had this phone already (a confirmation sent "
        "again): nothing changed."
    )
    account_joined: bool = strawberry.field(
        description="The person had signed in with this phone before, making an account "
        "that held nothing verified but the phone: its check-ins, exposure alerts and record "
        "reports are now this citizen's, and it no longer signs in."
    )
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Second step: the code the person reads from their phone, for a "
    "confirmation your office asked for. Only then does the citizen get the phone. An "
    "account the person made by signing in with it before, holding nothing verified but the "
    "phone, joins the citizen; a phone of an account holding more is refused.",
)
async def confirm_citizen_phone(
    info: strawberry.Info, challenge_id: strawberry.ID, code: str
) -> ConfirmCitizenPhonePayload:
    challenge = parse_typed_node_id(challenge_id, "OtpChallenge")
    try:
        with core_store():
            added = await confirm_phone(
                info.context.services.engines,
                sign_in_service(info),
                Office.of(info.context.principal),
                str(challenge or challenge_id),
                code,
                client_address(info),
                info.context.request_id,
            )
    except RateLimited as error:
        raise rate_limited(error) from None
    except RegistrationRefused as refused:
        return ConfirmCitizenPhonePayload(
            added=False, account_joined=False, user_errors=_refused(refused)
        )
    return ConfirmCitizenPhonePayload(
        added=added is not PhoneAdded.ALREADY,
        account_joined=added is PhoneAdded.JOINED,
        user_errors=[],
    )
