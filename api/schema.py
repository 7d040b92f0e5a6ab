"""The GraphQL schema: one Query over the three stores, and the Mutations."""

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import ExecutionContext

from api.auth import (
    AuthPayload,
    LogoutPayload,
    RequestOtpPayload,
    logout,
    refresh_session,
    request_otp,
    verify_otp,
)
from api.checkin import CheckIn
from api.checkin_capture import check_in, delete_check_ins, staff_check_in, staff_check_ins
from api.citizen import Citizen, citizen, me
from api.consent import grant_consent, revoke_consent
from api.correction import correct_citizen_details
from api.errors import PublicErrors
from api.exposure import Exposure, exposures
from api.exposure_alert import exposure_alert_raised, mark_case
from api.health_pass import (
    health_pass_query,
    revoke_health_pass_mutation,
    show_full_name_mutation,
)
from api.limits import DocumentLimits
from api.observe import RecordOperation
from api.personal_card import issue_personal_qr, renew_personal_qr, revoke_personal_qr
from api.plans import PlannedSchema
from api.profile import update_my_profile, verify_identity
from api.reconciliation import resolve_unmatched, unmatched_records
from api.record_issue import answer_record_issue, record_issues, report_record_issue
from api.records import record_test_result, record_vaccination, void_record
from api.registration import (
    confirm_citizen_phone,
    register_citizen_without_phone,
    request_citizen_phone_code,
)
from api.testing import TestResult, test_result_updated
from api.vaccination import Vaccination, Vaccine, resolve_vaccines
from api.venue import Venue, close_venue, register_venue, resolve_venue
from auth.permissions import IsCitizen


@strawberry.type
class Query:
    me: Citizen | None = me
    citizen: Citizen | None = citizen
    node: relay.Node | None = relay.node(
        description="Any object by its global ID; one the caller may not see is null."
    )
    vaccines: list[Vaccine] = strawberry.field(
        resolver=resolve_vaccines, description="The vaccine catalog."
    )
    venue: Venue | None = strawberry.field(
        resolver=resolve_venue, description="A venue by the code its QR carries."
    )
    exposures: list[Exposure] = exposures
    unmatched_records = unmatched_records
    record_issues = record_issues
    verify_health_pass = health_pass_query


@strawberry.type
class Mutation:
    request_otp: RequestOtpPayload = strawberry.mutation(
        resolver=request_otp, description="Send a sign-in code to a phone."
    )
    verify_otp: AuthPayload = strawberry.mutation(
        resolver=verify_otp,
        description="Sign in with the code; a phone's first sign-in creates its citizen.",
    )
    refresh_session: AuthPayload = strawberry.mutation(
        resolver=refresh_session,
        description="Trade a refresh token for new tokens. A refresh token works once: "
        "used again, it signs out the whole session.",
    )
    logout: LogoutPayload = strawberry.mutation(
        resolver=logout,
        description="Sign this session out (everywhere: every session of the citizen).",
    )
    update_profile = update_my_profile
    verify_identity = verify_identity
    grant_consent = grant_consent
    revoke_consent = revoke_consent
    mark_case = mark_case
    resolve_unmatched = resolve_unmatched
    report_record_issue = report_record_issue
    answer_record_issue = answer_record_issue
    check_in = check_in
    staff_check_in = staff_check_in
    staff_check_ins = staff_check_ins
    delete_check_ins = delete_check_ins
    register_venue = register_venue
    close_venue = close_venue
    renew_personal_qr = renew_personal_qr
    issue_personal_qr = issue_personal_qr
    revoke_personal_qr = revoke_personal_qr
    register_citizen = register_citizen_without_phone
    request_citizen_phone_code = request_citizen_phone_code
    confirm_citizen_phone = confirm_citizen_phone
    correct_citizen = correct_citizen_details
    revoke_health_pass = revoke_health_pass_mutation
    show_full_name_on_health_pass = show_full_name_mutation

    record_vaccination = record_vaccination
    record_test_result = record_test_result
    void_record = void_record


@strawberry.type
class Subscription:
    test_result_updated = strawberry.subscription(
        resolver=test_result_updated,
        permission_classes=[IsCitizen],
        description="Your test results as labs record them (websocket, graphql-transport-ws).",
    )
    exposure_alert = strawberry.subscription(
        resolver=exposure_alert_raised,
        permission_classes=[IsCitizen],
        description="Alerts as authorities raise them: you were near a confirmed case "
        "(websocket, graphql-transport-ws).",
    )


class HealthSchema(PlannedSchema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry would log every error at ERROR with the query text. Ours are logged
        where they are understood: our own faults by PublicErrors, every request's outcome
        by api.observe."""


schema = HealthSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Citizen, Vaccination, TestResult, CheckIn],
    extensions=[
        # First, so that it sees the errors as PublicErrors leaves them.
        RecordOperation,
        PublicErrors,
        DocumentLimits,
    ],
)
