"""A province office gives a registered citizen a phone only with the code sent to that
phone: the office asks, the person reads out the code their phone received, the office
confirms. A mistyped number never reaches its owner's data, the code works only for the
office that asked and only once, within the sign-in codes' lifetime, attempts and limits,
and it never signs anyone in."""

import uuid

import pytest
import sqlalchemy as sa
from strawberry import relay

from auth.sms import outbox_path
from models.stores import Store
from tests.conftest import CONFIRM_PHONE, REQUEST_PHONE_CODE

PHONE = "0912000888"
VERIFY_OTP = """mutation($id: ID!, $code: String!) { verifyOtp(challengeId: $id, code: $code) {
  session { citizenId } userErrors { field code } } }"""
REQUEST_OTP = "mutation($phone: String!) { requestOtp(phone: $phone) { challenge { id } } }"
PERSON = {"fullName": "Lê Thị Hoa", "dateOfBirth": "1948-03-02", "nationalId": "024190000123"}
REGISTER = """mutation($input: RegisterCitizenInput!) {
  registerCitizen(input: $input) { citizenId } }"""


@pytest.fixture
async def office(partners):
    return await partners.create("reconcile", name="Sở Y tế Bắc Giang", province_code="24")


@pytest.fixture
async def citizen(graphql, office):
    """A citizen the office registered, without a phone."""
    answer = await graphql.query(REGISTER, {"input": PERSON}, token=office.token)
    return answer["data"]["registerCitizen"]["citizenId"]


async def ask(graphql, token, citizen, phone=PHONE):
    answer = await graphql.query(REQUEST_PHONE_CODE, {"id": citizen, "phone": phone}, token=token)
    return answer["data"]["requestCitizenPhoneCode"]


async def confirm(graphql, token, challenge_id, code):
    answer = await graphql.query(CONFIRM_PHONE, {"id": challenge_id, "code": code}, token=token)
    return answer["data"]["confirmCitizenPhone"] if answer.get("data") else answer


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def codes(answer):
    return [(e["field"], e["code"]) for e in answer["userErrors"]]


def as_uuid(citizen):
    return uuid.UUID(relay.GlobalID.from_id(citizen).node_id)


async def phone_of(graphql, citizen):
    mine = await graphql.query("{ me { phoneMasked } }", as_citizen=as_uuid(citizen))
    return mine["data"]["me"]["phoneMasked"]


async def test_asking_sends_a_code_to_the_phone_and_changes_nothing_until_it_comes_back(
    graphql, office, citizen, sms_inbox, settings
):
    asked = await ask(graphql, office.token, citizen, "+84 912 000 888")

    challenge = asked["challenge"]
    assert (challenge["phoneMasked"], challenge["codeLength"], asked["userErrors"]) == (
        "091****888",
        6,
        [],
    )
    message = outbox_path(settings).read_text().splitlines()[-1]
    assert "them so nay vao ho so" in message  # says what the code is for
    assert await phone_of(graphql, citizen) is None

    confirmed = await confirm(
        graphql, office.token, challenge["id"], sms_inbox.last_code_for(PHONE)
    )

    assert confirmed == {"added": True, "accountJoined": False, "userErrors": []}
    assert await phone_of(graphql, citizen) == "091****888"


@pytest.mark.parametrize("right", [False, True])
async def test_a_wrong_code_adds_no_phone_and_the_right_one_does(
    graphql, office, citizen, sms_inbox, right
):
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    code = sms_inbox.last_code_for(PHONE)

    answer = await confirm(graphql, office.token, challenge["id"], code if right else wrong(code))

    if right:
        assert (answer["added"], answer["userErrors"]) == (True, [])
        assert await phone_of(graphql, citizen) is not None
    else:
        assert (answer["added"], codes(answer)) == (False, [("code", "INVALID_CODE")])
        assert "4 attempt(s) left" in answer["userErrors"][0]["message"]
        assert await phone_of(graphql, citizen) is None


@pytest.mark.parametrize("expired", [True, False])
async def test_an_expired_code_adds_no_phone(graphql, office, citizen, sms_inbox, engines, expired):
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    if expired:
        async with engines[Store.CORE].begin() as core:
            await core.execute(
                sa.text(
                    "UPDATE core.otp_challenges SET expires_at = now() - interval '1 second' "
                    "WHERE office_id IS NOT NULL"
                )
            )

    answer = await confirm(graphql, office.token, challenge["id"], sms_inbox.last_code_for(PHONE))

    if expired:
        assert codes(answer) == [("challengeId", "CODE_EXPIRED")]
        assert await phone_of(graphql, citizen) is None
    else:
        assert answer["added"] is True


@pytest.mark.parametrize(("wrong_codes", "added"), [(4, True), (5, False)])
async def test_after_five_wrong_codes_even_the_right_one_adds_no_phone(
    graphql, office, citizen, sms_inbox, wrong_codes, added
):
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    code = sms_inbox.last_code_for(PHONE)
    for _ in range(wrong_codes):
        await confirm(graphql, office.token, challenge["id"], wrong(code))

    answer = await confirm(graphql, office.token, challenge["id"], code)

    assert answer["added"] is added
    if not added:
        assert codes(answer) == [("challengeId", "TOO_MANY_ATTEMPTS")]
        assert await phone_of(graphql, citizen) is None


@pytest.mark.parametrize("province", ["24", "01"])
async def test_another_office_cannot_confirm_a_code_it_did_not_ask_for(
    graphql, partners, office, citizen, sms_inbox, province
):
    other = await partners.create("reconcile", name=f"Văn phòng {province}", province_code=province)
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    code = sms_inbox.last_code_for(PHONE)

    theirs = await confirm(graphql, other.token, challenge["id"], code)
    ours = await confirm(graphql, office.token, challenge["id"], code)

    assert codes(theirs) == [("challengeId", "NOT_FOUND")]
    # Their attempt neither spent the code nor counted against it.
    assert ours == {"added": True, "accountJoined": False, "userErrors": []}


async def test_a_citizen_or_a_partner_that_is_no_office_cannot_add_a_phone(
    graphql, partners, office, citizen, sms_inbox
):
    as_citizen = as_uuid(citizen)
    lab = await partners.create("testing:write", name="Lab")
    variables = {"id": citizen, "phone": PHONE}
    by_citizen = await graphql.query(REQUEST_PHONE_CODE, variables, as_citizen=as_citizen)
    by_lab = await graphql.query(REQUEST_PHONE_CODE, variables, token=lab.token)
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    code = sms_inbox.last_code_for(PHONE)
    confirm_as_citizen = await graphql.query(
        CONFIRM_PHONE, {"id": challenge["id"], "code": code}, as_citizen=as_citizen
    )

    for refused in (by_citizen, by_lab, confirm_as_citizen):
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await phone_of(graphql, citizen) is None
    assert (await confirm(graphql, office.token, challenge["id"], code))["added"] is True


async def test_an_office_code_never_signs_in_and_a_sign_in_code_never_adds_a_phone(
    graphql, office, citizen, sms_inbox
):
    office_challenge = (await ask(graphql, office.token, citizen))["challenge"]
    office_code = sms_inbox.last_code_for(PHONE)
    asked = await graphql.query(REQUEST_OTP, {"phone": "0912000777"})
    sign_in_challenge = asked["data"]["requestOtp"]["challenge"]
    sign_in_code = sms_inbox.last_code_for("0912000777")

    signed_in = await graphql.query(VERIFY_OTP, {"id": office_challenge["id"], "code": office_code})
    added = await confirm(graphql, office.token, sign_in_challenge["id"], sign_in_code)

    assert signed_in["data"]["verifyOtp"] == {
        "session": None,
        "userErrors": [{"field": "challengeId", "code": "CODE_EXPIRED"}],
    }
    assert codes(added) == [("challengeId", "NOT_FOUND")]
    # Each still works for what it was sent for.
    assert (await confirm(graphql, office.token, office_challenge["id"], office_code))["added"]
    again = await graphql.query(VERIFY_OTP, {"id": sign_in_challenge["id"], "code": sign_in_code})
    assert again["data"]["verifyOtp"]["session"] is not None


async def test_confirming_again_changes_nothing_and_a_spent_code_starts_nothing_new(
    graphql, office, citizen, sms_inbox
):
    challenge = (await ask(graphql, office.token, citizen))["challenge"]
    code = sms_inbox.last_code_for(PHONE)

    first = await confirm(graphql, office.token, challenge["id"], code)
    second = await confirm(graphql, office.token, challenge["id"], code)

    assert first["added"] is True
    assert second == {"added": False, "accountJoined": False, "userErrors": []}


async def test_a_citizen_who_has_a_phone_is_not_given_another(
    graphql, office, citizen, office_adds_phone
):
    await office_adds_phone(office.token, citizen, PHONE)

    other = await ask(graphql, office.token, citizen, "0987654321")

    assert (other["challenge"], codes(other)) == (None, [("phone", "PHONE_ALREADY_SET")])
    assert await phone_of(graphql, citizen) == "091****888"


async def test_an_office_asking_for_codes_counts_against_the_phones_sign_in_limit(
    app_process, partners, engines
):
    office = await partners.create("reconcile", name="Sở Y tế Bắc Giang", province_code="24")
    async with app_process(otp_requests_per_phone=2) as graphql:
        citizen = (await graphql.query(REGISTER, {"input": PERSON}, token=office.token))["data"][
            "registerCitizen"
        ]["citizenId"]
        await graphql.query(REQUEST_OTP, {"phone": PHONE})
        allowed = await graphql.query(
            REQUEST_PHONE_CODE, {"id": citizen, "phone": PHONE}, token=office.token
        )
        refused = await graphql.query(
            REQUEST_PHONE_CODE, {"id": citizen, "phone": PHONE}, token=office.token
        )
        other_phone = await graphql.query(
            REQUEST_PHONE_CODE, {"id": citizen, "phone": "0987654321"}, token=office.token
        )

    assert allowed["data"]["requestCitizenPhoneCode"]["challenge"] is not None
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert other_phone["data"]["requestCitizenPhoneCode"]["challenge"] is not None
