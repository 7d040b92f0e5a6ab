"""Citizen sign-in: requestOtp, verifyOtp, refreshSession, logout."""

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import strawberry
from strawberry import relay

from api.errors import ApiError, ErrorCode
from api.nodes import parse_typed_node_id
from api.user_errors import UserError, user_error
from auth.otp import CODE_LENGTH
from auth.signin import Challenge, RateLimited, Session, SignIn, SignInRefused
from models.identifiers import mask_phone
from models.stores import Store, StoreUnavailable, is_unavailable


@strawberry.type(
    description="A code sent to a phone: verifyOtp takes its ID (confirmCitizenPhone for "
    "a phone a province office adds)."
)
class OtpChallenge(relay.Node):
    id: relay.NodeID[str]
    phone_masked: str
    expires_at: dt.datetime
    code_length: int

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["OtpChallenge | None"]:
        """Only requestOtp's answer shows a challenge: node() never does."""
        return [None for _ in node_ids]


@strawberry.type
class RequestOtpPayload:
    challenge: OtpChallenge | None
    user_errors: list[UserError]


@strawberry.type
class AuthSession:
    citizen_id: strawberry.ID = strawberry.field(description="The signed-in citizen's node ID.")
    new_citizen: bool = strawberry.field(description="True on a phone's first sign-in.")
    access_token: str
    access_token_expires_at: dt.datetime
    refresh_token: str = strawberry.field(description="Single use: refreshing returns the next.")
    refresh_token_expires_at: dt.datetime
    token_type: str = "Bearer"


@strawberry.type
class AuthPayload:
    session: AuthSession | None
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    signed_out: bool
    user_errors: list[UserError]


def sign_in_service(info: strawberry.Info) -> SignIn:
    sign_in: SignIn | None = info.context.services.sign_in
    if sign_in is None:
        raise RuntimeError("sign-in is not configured in this process")
    return sign_in


def client_address(info: strawberry.Info) -> str:
    client = info.context.request.client
    return client.host if client else "unknown"


def rate_limited(error: RateLimited) -> ApiError:
    return ApiError(ErrorCode.RATE_LIMITED, str(error), retryAfter=error.retry_after)


@contextmanager
def core_store() -> Iterator[None]:
    """Sign-in lives in the core store: when it does not answer, say so."""
    try:
        yield
    except Exception as error:
        if is_unavailable(error):
            raise StoreUnavailable(Store.CORE) from error
        raise


def _refused(error: SignInRefused) -> list[UserError]:
    return [user_error(error.problem.value, error.message, error.field)]


def otp_challenge_from(challenge: Challenge) -> OtpChallenge:
    return OtpChallenge(
        id=str(challenge.id),
        phone_masked=mask_phone(challenge.phone),
        expires_at=challenge.expires_at,
        code_length=CODE_LENGTH,
    )


def session_from(result: Session) -> AuthSession:
    return AuthSession(
        citizen_id=strawberry.ID(str(relay.GlobalID("Citizen", str(result.citizen_id)))),
        new_citizen=result.new_citizen,
        access_token=result.access_token,
        access_token_expires_at=result.access_token_expires_at,
        refresh_token=result.refresh_token,
        refresh_token_expires_at=result.refresh_token_expires_at,
    )


async def request_otp(info: strawberry.Info, phone: str) -> RequestOtpPayload:
    try:
        with core_store():
            challenge = await sign_in_service(info).request_code(phone, client_address(info))
    except RateLimited as error:
        raise rate_limited(error) from None
    except SignInRefused as error:
        return RequestOtpPayload(challenge=None, user_errors=_refused(error))
    return RequestOtpPayload(challenge=otp_challenge_from(challenge), user_errors=[])


async def verify_otp(info: strawberry.Info, challenge_id: strawberry.ID, code: str) -> AuthPayload:
    try:
        with core_store():
            challenge = parse_typed_node_id(challenge_id, "OtpChallenge")
            result = await sign_in_service(info).verify_code(
                str(challenge or challenge_id), code, client_address(info)
            )
    except RateLimited as error:
        raise rate_limited(error) from None
    except SignInRefused as error:
        return AuthPayload(session=None, user_errors=_refused(error))
    return AuthPayload(session=session_from(result), user_errors=[])


async def refresh_session(info: strawberry.Info, refresh_token: str) -> AuthPayload:
    try:
        with core_store():
            result = await sign_in_service(info).refresh(refresh_token)
    except SignInRefused as error:
        return AuthPayload(session=None, user_errors=_refused(error))
    return AuthPayload(session=session_from(result), user_errors=[])


async def logout(
    info: strawberry.Info, refresh_token: str, everywhere: bool = False
) -> LogoutPayload:
    try:
        with core_store():
            await sign_in_service(info).logout(refresh_token, everywhere)
    except SignInRefused as error:
        return LogoutPayload(signed_out=False, user_errors=_refused(error))
    return LogoutPayload(signed_out=True, user_errors=[])
