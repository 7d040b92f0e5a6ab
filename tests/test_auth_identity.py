"""What a citizen claims about themselves links records only once verified."""

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from strawberry import relay

from models.stores import Store

UPDATE = """mutation($input: ProfileInput!) { updateProfile(input: $input) {
  profile { fullName dateOfBirth dateOfBirthVerified identifiers { kind value verified } }
  userErrors { field code message } } }"""
VERIFY = """mutation($input: VerifyIdentityInput!) { verifyIdentity(input: $input) {
  verified dateOfBirthVerified userErrors { field code } } }"""
DOSES = "{ me { vaccinations { siteName } } }"
PHONE = "0912345678"
CCCD = "024090001234"
BIRTH = date(1990, 5, 14)


def claims(**changes) -> dict:
    return {
        "input": {
            "fullName": "Nguyễn Văn An",
            "dateOfBirth": BIRTH.isoformat(),
            "nationalId": CCCD,
            **changes,
        }
    }


async def update(graphql, token: str, **changes) -> dict:
    body = await graphql.query(UPDATE, claims(**changes), token=token)
    return body["data"]["updateProfile"]


async def sites_seen(graphql, token: str) -> list[str]:
    body = await graphql.query(DOSES, token=token)
    return sorted(dose["siteName"] for dose in body["data"]["me"]["vaccinations"])


async def dose(given, site: str, **identity) -> None:
    await given.vaccination(**identity)
    async with given.engines[Store.IMMUNIZATION].begin() as connection:
        await connection.execute(
            sa.text(
                "UPDATE immunization.vaccination_records SET site_name = :site "
                "WHERE site_name = 'Trạm Y tế xã Tân Mỹ'"
            ),
            {"site": site},
        )


async def test_claims_are_recorded_unverified_and_link_nothing(graphql, given, sign_in):
    await dose(given, "CCCD only", national_id=CCCD)
    session = await sign_in(PHONE)

    payload = await update(graphql, session["accessToken"])

    assert payload["userErrors"] == []
    assert payload["profile"]["fullName"] == "Nguyễn Văn An"
    assert payload["profile"]["dateOfBirthVerified"] is False
    assert {(i["kind"], i["verified"]) for i in payload["profile"]["identifiers"]} == {
        ("PHONE", True),
        ("CCCD", False),
    }
    assert await sites_seen(graphql, session["accessToken"]) == []


async def test_a_record_with_phone_identifier_name_and_birth_date_verifies_the_claims(
    graphql, given, sign_in
):
    await dose(
        given,
        "phone and CCCD",
        national_id=CCCD,
        phone=PHONE,
        date_of_birth=BIRTH,
        full_name="NGUYEN VAN AN",
    )
    await dose(given, "CCCD only", national_id=CCCD)
    session = await sign_in(PHONE)

    payload = await update(graphql, session["accessToken"])

    assert payload["profile"]["dateOfBirthVerified"] is True
    assert {(i["kind"], i["verified"]) for i in payload["profile"]["identifiers"]} == {
        ("PHONE", True),
        ("CCCD", True),
    }
    assert await sites_seen(graphql, session["accessToken"]) == ["CCCD only", "phone and CCCD"]


@pytest.mark.parametrize(
    "record",
    [
        {"full_name": "Nguyễn Văn Bình"},
        {"date_of_birth": date(1962, 3, 1)},
        {"phone": "0987654321"},
        {"national_id": "024090009999"},
    ],
)
async def test_a_record_that_differs_in_anything_verifies_nothing(graphql, given, sign_in, record):
    carried = {
        "national_id": CCCD,
        "phone": PHONE,
        "date_of_birth": BIRTH,
        "full_name": "Nguyễn Văn An",
        **record,
    }
    await dose(given, "near miss", **carried)
    await dose(given, "CCCD only", national_id=CCCD)
    session = await sign_in(PHONE)

    payload = await update(graphql, session["accessToken"])

    assert payload["profile"]["dateOfBirthVerified"] is False
    assert await sites_seen(graphql, session["accessToken"]) == []


async def test_a_parents_dose_under_the_childs_phone_is_never_the_childs(graphql, given, sign_in):
    # The parent was vaccinated with the child's phone typed at the site.
    await dose(
        given,
        "parent's dose",
        phone=PHONE,
        date_of_birth=date(1962, 3, 1),
        full_name="Nguyễn Văn Cha",
        national_id="024062000111",
    )
    await dose(
        given,
        "child's dose",
        national_id=CCCD,
        phone=PHONE,
        date_of_birth=BIRTH,
        full_name="Nguyễn Văn An",
    )
    session = await sign_in(PHONE)

    await update(graphql, session["accessToken"])
    # Claiming the parent's birth date does not pull the parent's dose in either.
    await update(graphql, session["accessToken"], dateOfBirth="1962-03-01")

    assert await sites_seen(graphql, session["accessToken"]) == ["child's dose"]


async def test_a_claimed_birth_date_alone_links_nothing_by_phone(graphql, given, sign_in):
    await dose(given, "phone and birth date", phone=PHONE, date_of_birth=BIRTH)
    session = await sign_in(PHONE)

    payload = await update(graphql, session["accessToken"], nationalId=None)

    assert payload["profile"]["dateOfBirth"] == BIRTH.isoformat()
    assert payload["profile"]["dateOfBirthVerified"] is False
    assert await sites_seen(graphql, session["accessToken"]) == []


async def test_an_identity_partner_verifies_a_claim_and_the_records_follow(
    graphql, given, sign_in, partners
):
    await dose(given, "CCCD only", national_id=CCCD)
    await dose(given, "phone and birth date", phone=PHONE, date_of_birth=BIRTH)
    session = await sign_in(PHONE)
    await update(graphql, session["accessToken"])
    e_id = await partners.create("identity:verify", name="VNeID")

    body = await graphql.query(
        VERIFY,
        {
            "input": {
                "citizenId": session["citizenId"],
                "nationalId": CCCD,
                "dateOfBirth": BIRTH.isoformat(),
            }
        },
        token=e_id.token,
    )

    assert body["data"]["verifyIdentity"] == {
        "verified": ["CCCD"],
        "dateOfBirthVerified": True,
        "userErrors": [],
    }
    assert await sites_seen(graphql, session["accessToken"]) == [
        "CCCD only",
        "phone and birth date",
    ]
    log = await graphql.query(
        "{ me { accessLog { edges { node { actorName action sections } } } } }",
        token=session["accessToken"],
    )
    assert log["data"]["me"]["accessLog"]["edges"] == [
        {"node": {"actorName": "VNeID", "action": "VERIFY", "sections": ["identity"]}}
    ]


async def test_a_verifier_cannot_verify_what_the_citizen_did_not_claim(graphql, sign_in, partners):
    session = await sign_in(PHONE)
    await update(graphql, session["accessToken"])
    e_id = await partners.create("identity:verify")

    body = await graphql.query(
        VERIFY,
        {"input": {"citizenId": session["citizenId"], "nationalId": "024090009999"}},
        token=e_id.token,
    )

    assert body["data"]["verifyIdentity"]["userErrors"] == [
        {"field": "citizenId", "code": "CLAIM_MISMATCH"}
    ]


@pytest.mark.parametrize(
    ("scopes", "province", "outcome"),
    [
        (("reconcile",), "24", "verified"),
        (("reconcile",), "01", "CLAIM_MISMATCH"),
        (("citizen:read:vaccinations",), None, "FORBIDDEN"),
    ],
)
async def test_province_operators_verify_only_their_provinces_citizens(
    graphql, sign_in, partners, scopes, province, outcome
):
    session = await sign_in(PHONE)
    await update(graphql, session["accessToken"], provinceCode="24")
    partner = await partners.create(*scopes, province_code=province)

    body = await graphql.query(
        VERIFY,
        {"input": {"citizenId": session["citizenId"], "nationalId": CCCD}},
        token=partner.token,
    )

    if outcome == "FORBIDDEN":
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elif outcome == "verified":
        assert body["data"]["verifyIdentity"]["verified"] == ["CCCD"]
    else:
        assert body["data"]["verifyIdentity"]["userErrors"][0]["code"] == outcome


async def test_an_identifier_verified_for_someone_else_stays_theirs(
    graphql, given, sign_in, partners
):
    await given.citizen(national_id=CCCD, phone="0987654321")
    session = await sign_in(PHONE)
    await update(graphql, session["accessToken"])
    e_id = await partners.create("identity:verify")

    body = await graphql.query(
        VERIFY,
        {"input": {"citizenId": session["citizenId"], "nationalId": CCCD}},
        token=e_id.token,
    )

    assert body["data"]["verifyIdentity"]["userErrors"] == [
        {"field": "nationalId", "code": "IDENTIFIER_TAKEN"}
    ]


async def test_a_verified_identifier_cannot_be_replaced_by_a_claim(graphql, given):
    citizen = await given.citizen(national_id=CCCD)

    body = await graphql.query(UPDATE, claims(nationalId="024090009999"), as_citizen=citizen)

    assert body["data"]["updateProfile"]["userErrors"][0]["code"] == "IDENTIFIER_ALREADY_VERIFIED"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nationalId": "12345"}, "nationalId"),
        ({"insuranceNumber": "HS-12"}, "insuranceNumber"),
        ({"dateOfBirth": "2999-01-01"}, "dateOfBirth"),
        ({"fullName": "  "}, "fullName"),
        ({"provinceCode": "Bac Giang"}, "provinceCode"),
    ],
)
async def test_invalid_claims_get_user_errors(graphql, given, change, field):
    citizen = await given.citizen()

    body = await graphql.query(UPDATE, claims(**change), as_citizen=citizen)

    [error] = body["data"]["updateProfile"]["userErrors"]
    assert (error["field"], error["code"]) == (field, "INVALID_VALUE")


async def test_a_persons_decision_on_a_record_outlives_verification(
    graphql, given, sign_in, engines
):
    await dose(given, "dismissed by the province", national_id=CCCD)
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.text("UPDATE core.record_links SET status = 'DISMISSED', decided_by = 'operator'")
        )
    await dose(
        given,
        "phone and CCCD",
        national_id=CCCD,
        phone=PHONE,
        date_of_birth=BIRTH,
        full_name="Nguyễn Văn An",
    )
    session = await sign_in(PHONE)

    await update(graphql, session["accessToken"])

    assert await sites_seen(graphql, session["accessToken"]) == ["phone and CCCD"]


async def test_a_partner_cannot_update_a_profile(graphql, partners):
    partner = await partners.create("identity:verify")

    body = await graphql.query(UPDATE, claims(), token=partner.token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_verifier_cannot_tell_a_missing_citizen_from_an_unclaimed_value(
    graphql, sign_in, partners
):
    session = await sign_in(PHONE)
    await update(graphql, session["accessToken"])
    e_id = await partners.create("identity:verify")
    nobody = str(relay.GlobalID("Citizen", str(uuid.uuid4())))

    def ask(citizen_id: str, national_id: str) -> dict:
        return {"input": {"citizenId": citizen_id, "nationalId": national_id}}

    mismatch = await graphql.query(
        VERIFY_MESSAGE, ask(session["citizenId"], "024090009999"), token=e_id.token
    )
    missing = await graphql.query(VERIFY_MESSAGE, ask(nobody, CCCD), token=e_id.token)
    garbage = await graphql.query(VERIFY_MESSAGE, ask("not-an-id", CCCD), token=e_id.token)

    answers = [body["data"]["verifyIdentity"] for body in (mismatch, missing, garbage)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["userErrors"][0]["code"] == "CLAIM_MISMATCH"


VERIFY_MESSAGE = """mutation($input: VerifyIdentityInput!) { verifyIdentity(input: $input) {
  verified dateOfBirthVerified userErrors { field code message } } }"""
