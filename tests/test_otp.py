"""Citizens sign in with a code sent to their phone."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from strawberry import relay

from models.identifiers import normalize_phone
from models.stores import Store

REQUEST = """mutation($phone: String!) { requestOtp(phone: $phone) {
  challenge { id phoneMasked codeLength expiresAt }
  userErrors { field code message } } }"""
VERIFY = """mutation($id: ID!, $code: String!) { verifyOtp(challengeId: $id, code: $code) {
  session { citizenId newCitizen accessToken refreshToken tokenType }
  userErrors { field code message } } }"""


async def request_code(graphql, phone: str) -> dict:
    return (await graphql.query(REQUEST, {"phone": phone}))["data"]["requestOtp"]


async def verify(graphql, challenge_id: str, code: str) -> dict:
    body = await graphql.query(VERIFY, {"id": challenge_id, "code": code})
    return body["data"]["verifyOtp"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def sign_in(graphql, sms_inbox, phone: str = "0912345678") -> dict:
    challenge = (await request_code(graphql, phone))["challenge"]
    return await verify(graphql, challenge["id"], sms_inbox.last_code_for(normalize_phone(phone)))


async def test_a_first_sign_in_creates_the_citizen_and_signs_them_in(graphql, sms_inbox):
    payload = await sign_in(graphql, sms_inbox, "0912345678")

    session = payload["session"]
    assert payload["userErrors"] == []
    assert session["newCitizen"] is True
    assert session["tokenType"] == "Bearer"
    assert session["refreshToken"].startswith("hgr_")
    me = await graphql.query("{ me { id phoneMasked } }", token=session["accessToken"])
    assert me["data"]["me"] == {"id": session["citizenId"], "phoneMasked": "091****678"}


async def test_signing_in_again_finds_the_same_citizen(graphql, sms_inbox):
    first = (await sign_in(graphql, sms_inbox, "0912345678"))["session"]

    again = (await sign_in(graphql, sms_inbox, "+84 912 345 678"))["session"]

    assert again["newCitizen"] is False
    assert again["citizenId"] == first["citizenId"]


async def test_a_seeded_citizen_signs_in_to_their_own_account(graphql, given, sms_inbox):
    citizen = await given.citizen(phone="0987654321", full_name="Phạm Văn Dũng")

    session = (await sign_in(graphql, sms_inbox, "84987654321"))["session"]

    me = await graphql.query("{ me { fullName } }", token=session["accessToken"])
    assert me["data"]["me"] == {"fullName": "Phạm Văn Dũng"}
    assert session["newCitizen"] is False
    assert session["citizenId"] == str(relay.GlobalID("Citizen", str(citizen)))


@pytest.mark.parametrize("phone", ["0912345678", "+84912345678", "84912345678", "0912.345.678"])
async def test_vietnamese_phone_formats_are_accepted(graphql, phone):
    payload = await request_code(graphql, phone)

    assert payload["userErrors"] == []
    assert payload["challenge"]["phoneMasked"] == "091****678"
    assert payload["challenge"]["codeLength"] == 6


@pytest.mark.parametrize("phone", ["12345", "0212345678", "not a phone", "+1 415 555 0100"])
async def test_an_invalid_phone_gets_a_clear_user_error(graphql, phone):
    payload = await request_code(graphql, phone)

    [error] = payload["userErrors"]
    assert payload["challenge"] is None
    assert (error["field"], error["code"]) == ("phone", "INVALID_PHONE")
    assert "phone" in error["message"] or "mobile" in error["message"]


async def test_the_code_is_six_digits_and_stored_only_as_a_hash(graphql, sms_inbox, engines):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")

    async with engines[Store.CORE].connect() as core:
        stored = (
            await core.execute(
                sa.text("SELECT code_hash FROM core.otp_challenges WHERE id = :id"),
                {"id": uuid.UUID(relay.from_base64(challenge["id"])[1])},
            )
        ).scalar_one()
    assert len(code) == 6 and code.isdigit()
    assert code not in stored
    assert len(stored) == 64


async def test_a_wrong_code_is_refused_and_says_how_many_attempts_are_left(graphql, sms_inbox):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")

    payload = await verify(graphql, challenge["id"], wrong(code))

    assert payload["session"] is None
    assert payload["userErrors"] == [
        {"field": "code", "code": "INVALID_CODE", "message": "wrong code: 4 attempt(s) left"}
    ]


async def test_brute_force_stops_at_five_attempts_even_for_the_right_code(graphql, sms_inbox):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")
    for _ in range(4):
        assert (await verify(graphql, challenge["id"], wrong(code)))["session"] is None
    fifth = await verify(graphql, challenge["id"], wrong(code))

    after_the_limit = await verify(graphql, challenge["id"], code)

    assert fifth["userErrors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert after_the_limit["session"] is None
    assert after_the_limit["userErrors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_the_right_code_on_the_last_attempt_still_signs_in(graphql, sms_inbox):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")
    for _ in range(4):
        await verify(graphql, challenge["id"], wrong(code))

    payload = await verify(graphql, challenge["id"], code)

    assert payload["userErrors"] == []
    assert payload["session"]["accessToken"]


async def test_a_used_code_cannot_be_replayed(graphql, sms_inbox):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")
    first = await verify(graphql, challenge["id"], code)

    replay = await verify(graphql, challenge["id"], code)

    assert first["session"] is not None
    assert replay["session"] is None
    assert replay["userErrors"][0]["code"] == "CODE_ALREADY_USED"


async def test_an_expired_code_is_refused(graphql, sms_inbox, engines):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]
    code = sms_inbox.last_code_for("0912345678")
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.text(
                "UPDATE core.otp_challenges SET expires_at = now() - interval '1 second' "
                "WHERE id = :id"
            ),
            {"id": uuid.UUID(relay.from_base64(challenge["id"])[1])},
        )

    payload = await verify(graphql, challenge["id"], code)

    assert payload["session"] is None
    assert payload["userErrors"][0]["code"] == "CODE_EXPIRED"


async def test_a_code_is_valid_for_five_minutes(graphql):
    challenge = (await request_code(graphql, "0912345678"))["challenge"]

    expires_at = datetime.fromisoformat(challenge["expiresAt"])
    assert timedelta(minutes=4) < expires_at - datetime.now(UTC) <= timedelta(minutes=5)


@pytest.mark.parametrize("challenge_id", [str(uuid.uuid4()), "not-an-id"])
async def test_an_unknown_challenge_is_refused(graphql, challenge_id):
    payload = await verify(graphql, challenge_id, "123456")

    assert payload["session"] is None
    assert payload["userErrors"][0]["code"] == "CODE_EXPIRED"


async def test_a_code_does_not_work_for_another_challenge(graphql, sms_inbox):
    mine = (await request_code(graphql, "0912345678"))["challenge"]
    my_code = sms_inbox.last_code_for("0912345678")
    theirs = (await request_code(graphql, "0987654321"))["challenge"]

    payload = await verify(graphql, theirs["id"], my_code)
    own = await verify(graphql, mine["id"], my_code)

    assert payload["session"] is None
    assert own["session"] is not None
