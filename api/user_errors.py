"""Expected problems with a mutation's input, returned in its payload's `userErrors`."""

from enum import StrEnum

import strawberry


@strawberry.enum
class UserErrorCode(StrEnum):
    INVALID_PHONE = "INVALID_PHONE"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    INVALID_CODE = "INVALID_CODE"
    CODE_EXPIRED = "CODE_EXPIRED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    CODE_ALREADY_USED = "CODE_ALREADY_USED"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    SESSION_REVOKED = "SESSION_REVOKED"
    INVALID_VALUE = "INVALID_VALUE"
    NOT_FOUND = "NOT_FOUND"
    SCOPE_NOT_GRANTABLE = "SCOPE_NOT_GRANTABLE"
    IDENTIFIER_ALREADY_VERIFIED = "IDENTIFIER_ALREADY_VERIFIED"
    IDENTIFIER_TAKEN = "IDENTIFIER_TAKEN"
    CLAIM_MISMATCH = "CLAIM_MISMATCH"
    # Citizens a province office registers (auth.registration).
    ALREADY_REGISTERED = "ALREADY_REGISTERED"
    PHONE_ALREADY_SET = "PHONE_ALREADY_SET"
    PHONE_IN_USE = "PHONE_IN_USE"
    # Records written by partners (models.record_validation.ProblemCode).
    REQUIRED = "REQUIRED"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    UNKNOWN_VACCINE = "UNKNOWN_VACCINE"
    DOSE_OUT_OF_RANGE = "DOSE_OUT_OF_RANGE"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    BEFORE_VACCINE_EXISTED = "BEFORE_VACCINE_EXISTED"
    UNKNOWN_TEST_TYPE = "UNKNOWN_TEST_TYPE"
    RESULT_WITHOUT_LAB = "RESULT_WITHOUT_LAB"
    UNKNOWN_LAB = "UNKNOWN_LAB"
    UNKNOWN_PROVINCE = "UNKNOWN_PROVINCE"
    PROVINCE_NOT_SERVED = "PROVINCE_NOT_SERVED"
    INVALID_QR_CODE = "INVALID_QR_CODE"
    VENUE_CLOSED = "VENUE_CLOSED"
    NOT_YOUR_VENUE = "NOT_YOUR_VENUE"
    UNKNOWN_INSURANCE_NUMBER = "UNKNOWN_INSURANCE_NUMBER"
    CARD_REVOKED = "CARD_REVOKED"
    SCAN_IN_FUTURE = "SCAN_IN_FUTURE"
    SCAN_PAST_RETENTION = "SCAN_PAST_RETENTION"


@strawberry.type
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str
    code: UserErrorCode


def user_error(code: UserErrorCode | str, message: str, field: str | None = None) -> UserError:
    return UserError(field=field, message=message, code=UserErrorCode(code))
