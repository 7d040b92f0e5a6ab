"""A province office corrects the details it typed for a citizen of its province."""

import datetime as dt

import strawberry

from api.nodes import parse_typed_node_id
from api.profile import Profile, profile_from
from api.user_errors import UserError, user_error
from auth.correction import CorrectionRequest, correct_citizen
from auth.permissions import Reconciles
from auth.registration import Office, RegistrationRefused


@strawberry.input(description="Only the details given change; the others stay as they are.")
class CorrectCitizenInput:
    citizen_id: strawberry.ID
    full_name: str | None = None
    date_of_birth: dt.date | None = None
    district: str | None = None
    national_id: str | None = strawberry.field(
        default=None,
        description="The 12-digit CCCD or 9-digit CMND on the card shown: it replaces every "
        "national ID the citizen held (a number typed as the wrong kind does not stay).",
    )
    insurance_number: str | None = strawberry.field(
        default=None, description="The health-insurance (BHYT) number on the card shown."
    )


@strawberry.type
class CorrectCitizenPayload:
    changed: bool = strawberry.field(
        description="False when everything given is what the citizen holds: nothing changed."
    )
    profile: Profile | None
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Correct the details typed for a citizen of your province (name, date of "
    "birth, district, national ID, insurance number), from the card they show: what you type "
    "is verified, as at registration. Records are matched again at once: those that no "
    "longer match leave the citizen, those that now match join them, and a record a province "
    "operator linked or dismissed by hand stays as decided. A number verified for another "
    "citizen is IDENTIFIER_TAKEN. The citizen sees the correction in their access log.",
)
async def correct_citizen_details(
    info: strawberry.Info, input: CorrectCitizenInput
) -> CorrectCitizenPayload:
    given = CorrectionRequest(
        full_name=input.full_name,
        date_of_birth=input.date_of_birth,
        district=input.district,
        national_id=input.national_id,
        insurance_number=input.insurance_number,
    )
    try:
        corrected = await correct_citizen(
            info.context.services.engines,
            Office.of(info.context.principal),
            parse_typed_node_id(input.citizen_id, "Citizen"),
            given,
            info.context.request_id,
        )
    except RegistrationRefused as refused:
        return CorrectCitizenPayload(
            changed=False,
            profile=None,
            user_errors=[user_error(p.code, p.message, p.field) for p in refused.problems],
        )
    return CorrectCitizenPayload(
        changed=corrected.changed, profile=profile_from(corrected.profile), user_errors=[]
    )
