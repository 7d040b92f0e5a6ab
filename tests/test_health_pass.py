"""The health pass: issued when needed, verified by scanners only, revocable, nothing more."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from auth.health_pass import PASS_CLAIMS, PASS_TYPE
from auth.tokens import InvalidToken
from models.health_pass import revoke_outdated_passes
from models.testing import TestOutcome, TestType

NATIONAL_ID = "024090001234"
PASS = """{ me { healthPass { passId colour reasons validUntil issuedAt showsFullName
  credential qrSvg } } }"""
VERIFY = """query($token: String!) { verifyHealthPass(token: $token) {
  result passId colour initials yearOfBirth fullName validUntil issuedAt } }"""
REVOKE = """mutation($id: String!) { revokeHealthPass(passId: $id) {
  revoked { passId revokedAt } userErrors { field code } } }"""
SHOW_NAME = """mutation($show: Boolean!) { showFullNameOnHealthPass(show: $show) {
  showsFullName } }"""
LOG = "{ me { accessLog { edges { node { actorKind actorName action sections } } } } }"


async def vaccinated_citizen(given, national_id: str = NATIONAL_ID, **citizen) -> uuid.UUID:
    citizen_id = await given.citizen(national_id=national_id, **citizen)
    await given.vaccination(
        national_id=national_id,
        vaccine_code="Ad26.COV2.S",
        administered_at=datetime.now(UTC) - timedelta(days=60),
    )
    return citizen_id


async def positive_rapid_test(given, hours_ago: int) -> None:
    """The holder's positive rapid antigen test, sampled that many hours ago."""
    await given.sample(
        national_id=NATIONAL_ID,
        test_type=TestType.RAPID_ANTIGEN,
        result=TestOutcome.POSITIVE,
        collected_at=datetime.now(UTC) - timedelta(hours=hours_ago),
    )


async def health_pass(graphql, citizen: uuid.UUID) -> dict:
    body = await graphql.query(PASS, as_citizen=citizen)
    assert "errors" not in body, body
    return dict(body["data"]["me"]["healthPass"])


async def verify(graphql, scanner_token: str, token: str) -> dict:
    return await graphql.query(VERIFY, {"token": token}, token=scanner_token)


def payload(token: str) -> dict:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def with_payload(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


async def test_a_fully_vaccinated_citizen_gets_a_green_pass_with_a_qr_code(graphql, given):
    citizen = await vaccinated_citizen(given)

    shown = await health_pass(graphql, citizen)

    assert shown["colour"] == "GREEN"
    assert shown["reasons"][0].startswith("Fully vaccinated since")
    assert shown["qrSvg"].startswith("<svg") and "</svg>" in shown["qrSvg"]
    assert jwt.get_unverified_header(shown["credential"])["typ"] == PASS_TYPE
    claims = payload(shown["credential"])
    assert claims["col"] == "GREEN" and claims["ini"] == "NVA" and claims["yob"] == 1990
    assert claims["jti"] == shown["passId"]


async def test_a_pass_holds_only_initials_birth_year_colour_times_and_its_id(graphql, given):
    citizen = await vaccinated_citizen(given)

    claims = payload((await health_pass(graphql, citizen))["credential"])

    assert set(claims) <= PASS_CLAIMS
    assert set(claims) == {"iss", "aud", "jti", "iat", "exp", "col", "ini", "yob"}
    assert "Nguyễn" not in json.dumps(claims, ensure_ascii=False)


async def test_the_same_pass_is_shown_while_it_is_still_right(graphql, given):
    citizen = await vaccinated_citizen(given)

    first = await health_pass(graphql, citizen)
    second = await health_pass(graphql, citizen)

    assert second["passId"] == first["passId"]
    assert second["credential"] == first["credential"]


async def test_a_positive_result_replaces_the_pass_and_the_old_one_stops_verifying(
    graphql, given, partners
):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    green = await health_pass(graphql, citizen)

    await positive_rapid_test(given, hours_ago=3)
    red = await health_pass(graphql, citizen)
    old = await verify(graphql, scanner.token, green["credential"])

    assert red["colour"] == "RED" and red["passId"] != green["passId"]
    assert red["reasons"][0].startswith("Positive rapid antigen test on")
    assert old["data"]["verifyHealthPass"]["result"] == "REVOKED"
    assert old["data"]["verifyHealthPass"]["colour"] is None


async def test_a_scanner_verifies_a_pass_and_the_holder_sees_who_checked(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify", name="Sân bay Nội Bài")
    shown = await health_pass(graphql, citizen)

    checked = (await verify(graphql, scanner.token, shown["credential"]))["data"]

    assert checked["verifyHealthPass"] == {
        "result": "VALID",
        "passId": shown["passId"],
        "colour": "GREEN",
        "initials": "NVA",
        "yearOfBirth": 1990,
        "fullName": None,
        "validUntil": shown["validUntil"],
        "issuedAt": shown["issuedAt"],
    }
    log = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]
    assert [edge["node"] for edge in log] == [
        {
            "actorKind": "PARTNER",
            "actorName": "Sân bay Nội Bài",
            "action": "PASS_CHECK",
            "sections": ["healthPass"],
        }
    ]


async def test_only_a_scanner_may_verify_a_pass(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    reader = await partners.create("citizen:read:vaccinations")
    shown = await health_pass(graphql, citizen)

    by_partner = await verify(graphql, reader.token, shown["credential"])
    by_citizen = await graphql.query(VERIFY, {"token": shown["credential"]}, as_citizen=citizen)
    anonymous = await graphql.query(VERIFY, {"token": shown["credential"]})

    assert by_partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    log = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]
    assert log == []


async def test_an_access_token_is_not_a_pass(graphql, given, partners, issuer):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")

    checked = await verify(graphql, scanner.token, issuer.issue(citizen))

    assert checked["data"]["verifyHealthPass"]["result"] == "FORGED"
    assert checked["data"]["verifyHealthPass"]["passId"] is None


async def test_a_pass_is_not_an_access_token(graphql, given, issuer):
    citizen = await vaccinated_citizen(given)
    credential = (await health_pass(graphql, citizen))["credential"]

    as_token = await graphql.query("{ me { fullName } }", token=credential)
    honest = await graphql.query("{ me { fullName } }", token=issuer.issue(citizen))

    assert as_token["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "not an access token" in as_token["errors"][0]["message"]
    assert honest["data"]["me"]["fullName"] == "Nguyễn Văn An"


def test_a_pass_fails_every_access_token_check_not_only_its_type(issuer, pass_issuer):
    """Even with its type rewritten, a pass is for another audience, under a pass key."""
    content_key = pass_issuer.ring.signing_key()
    retyped = jwt.encode(
        {
            "iss": "healthgraph",
            "aud": pass_issuer.audience,
            "sub": str(uuid.uuid4()),
            "iat": 0,
            "nbf": 0,
            "exp": 2**31,
        },
        content_key.private_key,
        algorithm="ES256",
        headers={"kid": content_key.kid, "typ": "at+jwt"},
    )

    try:
        issuer.verify(retyped)
    except InvalidToken as refused:
        assert str(refused) == "unknown signing key"
    else:
        raise AssertionError("a pass key signed an access token")


async def test_a_forged_signature_or_a_tampered_colour_is_forged(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    await given.sample(
        national_id=NATIONAL_ID,
        result=TestOutcome.POSITIVE,
        collected_at=datetime.now(UTC) - timedelta(days=2),
    )
    scanner = await partners.create("pass:verify")
    red = (await health_pass(graphql, citizen))["credential"]
    stranger = ec.generate_private_key(ec.SECP256R1())
    header = jwt.get_unverified_header(red)

    forged = jwt.encode(
        {**payload(red), "col": "GREEN"}, stranger, algorithm="ES256", headers=header
    )
    tampered = with_payload(red, {**payload(red), "col": "GREEN"})

    for token in (forged, tampered, "not-a-pass"):
        checked = (await verify(graphql, scanner.token, token))["data"]["verifyHealthPass"]
        assert (checked["result"], checked["colour"]) == ("FORGED", None)
    honest = (await verify(graphql, scanner.token, red))["data"]["verifyHealthPass"]
    assert (honest["result"], honest["colour"]) == ("VALID", "RED")


async def test_the_full_name_shows_only_when_the_citizen_turns_it_on(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    initials_only = await health_pass(graphql, citizen)

    turned_on = await graphql.query(SHOW_NAME, {"show": True}, as_citizen=citizen)
    named = await health_pass(graphql, citizen)
    checked = (await verify(graphql, scanner.token, named["credential"]))["data"]

    assert turned_on["data"]["showFullNameOnHealthPass"] == {"showsFullName": True}
    assert "name" not in payload(initials_only["credential"])
    assert payload(named["credential"])["name"] == "Nguyễn Văn An"
    assert named["showsFullName"] and named["passId"] != initials_only["passId"]
    assert checked["verifyHealthPass"]["fullName"] == "Nguyễn Văn An"


async def test_a_partner_cannot_turn_a_citizens_name_on(graphql, given, partners):
    scanner = await partners.create("pass:verify")

    refused = await graphql.query(SHOW_NAME, {"show": True}, token=scanner.token)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_partner_never_reads_a_citizens_pass(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    reader = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, reader.partner_id, "citizen:read:vaccinations")
    query = """query($id: ID!) { citizen(id: $id) { healthPass { colour } } }"""
    from strawberry import relay

    node = str(relay.GlobalID("Citizen", str(citizen)))

    body = await graphql.query(query, {"id": node}, token=reader.token)

    assert body["data"]["citizen"]["healthPass"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_vaccination_status_says_from_which_local_day_the_series_protects(graphql, given):
    citizen = await given.citizen(national_id=NATIONAL_ID)
    # 20:00 UTC on 1 August is 03:00 on 2 August in Hanoi.
    for day in (1, 29):
        await given.vaccination(
            national_id=NATIONAL_ID,
            vaccine_code="BNT162b2" if day == 29 else "AZD1222",
            administered_at=datetime(2021, 7 if day == 1 else 8, day, 20, tzinfo=UTC),
        )
    query = "{ me { vaccinationStatus { primarySeriesCompletedOn fullyVaccinatedFrom } } }"

    body = await graphql.query(query, as_citizen=citizen)

    assert body["data"]["me"]["vaccinationStatus"] == {
        "primarySeriesCompletedOn": "2021-08-30",
        "fullyVaccinatedFrom": "2021-09-13",
    }


async def test_a_result_that_changes_the_colour_revokes_the_pass_before_it_is_shown_again(
    graphql, given, engines, pass_issuer, partners
):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    green = await health_pass(graphql, citizen)
    await positive_rapid_test(given, hours_ago=1)

    revoked = await revoke_outdated_passes(engines, [citizen], pass_issuer.rules, datetime.now(UTC))
    checked = (await verify(graphql, scanner.token, green["credential"]))["data"]

    assert revoked == [uuid.UUID(green["passId"])]
    assert checked["verifyHealthPass"]["result"] == "REVOKED"


async def test_a_result_that_keeps_the_colour_leaves_the_pass_alone(
    graphql, given, engines, pass_issuer, partners
):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    green = await health_pass(graphql, citizen)
    await given.sample(
        national_id=NATIONAL_ID,
        result=TestOutcome.NEGATIVE,
        collected_at=datetime.now(UTC) - timedelta(hours=1),
    )

    revoked = await revoke_outdated_passes(engines, [citizen], pass_issuer.rules, datetime.now(UTC))
    checked = (await verify(graphql, scanner.token, green["credential"]))["data"]

    assert revoked == []
    assert checked["verifyHealthPass"]["result"] == "VALID"
    assert (await health_pass(graphql, citizen))["passId"] == green["passId"]


async def test_the_day_a_series_completed_is_a_local_day_on_every_path(graphql, given):
    citizen = await given.citizen(national_id=NATIONAL_ID)
    # 20:00 UTC on 1 August is 03:00 on 2 August in Hanoi.
    await given.vaccination(
        national_id=NATIONAL_ID,
        vaccine_code="Ad26.COV2.S",
        administered_at=datetime(2021, 8, 1, 20, tzinfo=UTC),
    )
    query = "{ me { vaccinationStatus { primarySeriesCompletedOn } } }"

    # The second answer comes from the compiled plan of the first.
    answers = [await graphql.query(query, as_citizen=citizen) for _ in range(2)]

    assert [a["data"]["me"]["vaccinationStatus"] for a in answers] == [
        {"primarySeriesCompletedOn": "2021-08-02"}
    ] * 2


RECORD_RESULT = """mutation($input: RecordTestResultInput!) { recordTestResult(input: $input) {
  status userErrors { field code } } }"""


def _lab_result(national_id: str, result: str, hours_ago: float) -> dict:
    collected = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {
        "sourceRecordId": f"XN-{uuid.uuid4().hex[:10]}",
        "updatedAt": (collected + timedelta(hours=1)).isoformat(),
        "fullName": "Nguyễn Văn An",
        "dateOfBirth": "1990-05-14",
        "nationalId": national_id,
        "sampleCode": "S000001",
        "testType": "RT_PCR",
        "collectedAt": collected.isoformat(),
        "collectionSite": "Điểm lấy mẫu phường Trần Phú",
        "provinceCode": "24",
        "result": result,
        "resultedAt": (collected + timedelta(minutes=30)).isoformat(),
        "labCode": "CDC-BG",
    }


async def _lab(partners, engines):
    import sqlalchemy as sa

    from models.stores import Store

    async with engines[Store.TESTING].begin() as testing:
        await testing.execute(
            sa.text(
                "INSERT INTO testing.labs (code, name, province_code) "
                "VALUES ('CDC-BG', 'CDC Bắc Giang', '24') ON CONFLICT DO NOTHING"
            )
        )
    return await partners.create("testing:write", name="CDC Bắc Giang")


@pytest.mark.parametrize(
    ("result", "verified_as"),
    [("POSITIVE", "REVOKED"), ("NEGATIVE", "VALID")],
    ids=["a positive result revokes it", "a result that keeps the colour leaves it valid"],
)
async def test_a_lab_result_settles_the_live_pass_before_the_holder_opens_the_app(
    graphql, given, partners, engines, result, verified_as
):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    lab = await _lab(partners, engines)
    green = await health_pass(graphql, citizen)

    written = await graphql.query(
        RECORD_RESULT, {"input": _lab_result(NATIONAL_ID, result, 3)}, token=lab.token
    )
    checked = await verify(graphql, scanner.token, green["credential"])

    assert written["data"]["recordTestResult"] == {"status": "INSERTED", "userErrors": []}
    assert checked["data"]["verifyHealthPass"]["result"] == verified_as
