"""A revoked pass stops verifying: online at once, offline through the signed revoked list."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from models.testing import TestOutcome
from tests.test_health_pass import LOG, REVOKE, health_pass, vaccinated_citizen, verify

INSURANCE = "DN4240123456789"
CLAIM = """mutation($input: ProfileInput!) { updateProfile(input: $input) {
  userErrors { field code } } }"""
VERIFY_IDENTITY = """mutation($input: VerifyIdentityInput!) { verifyIdentity(input: $input) {
  verified userErrors { field code } } }"""


async def revoke(graphql, pass_id: str, **caller) -> dict:
    body = await graphql.query(REVOKE, {"id": pass_id}, **caller)
    return dict(body)


async def revoked_list(client, issuer_keys) -> list[str]:
    response = await client.get("/.well-known/revoked-passes")
    assert response.status_code == 200
    header = jwt.get_unverified_header(response.text)
    assert header["typ"] == "hg-revoked-passes+jwt"
    key = next(k for k in issuer_keys if k.kid == header["kid"])
    claims = jwt.decode(
        response.text, key.public_key, algorithms=["ES256"], audience="healthgraph-pass"
    )
    return list(claims["revoked"])


async def test_a_citizen_revokes_their_pass_and_it_is_revoked_at_once(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    lost = await health_pass(graphql, citizen)

    body = await revoke(graphql, lost["passId"], as_citizen=citizen)
    checked = (await verify(graphql, scanner.token, lost["credential"]))["data"]
    replacement = await health_pass(graphql, citizen)

    assert body["data"]["revokeHealthPass"]["revoked"]["passId"] == lost["passId"]
    assert body["data"]["revokeHealthPass"]["userErrors"] == []
    assert checked["verifyHealthPass"]["result"] == "REVOKED"
    assert checked["verifyHealthPass"]["colour"] is None
    assert replacement["passId"] != lost["passId"] and replacement["colour"] == "GREEN"


async def test_revoking_twice_changes_nothing(graphql, given):
    citizen = await vaccinated_citizen(given)
    lost = await health_pass(graphql, citizen)

    first = await revoke(graphql, lost["passId"], as_citizen=citizen)
    again = await revoke(graphql, lost["passId"], as_citizen=citizen)

    assert again["data"] == first["data"]


async def test_a_citizen_cannot_revoke_another_citizens_pass(graphql, given, partners):
    owner = await vaccinated_citizen(given)
    other = await given.citizen(phone="0987654321")
    scanner = await partners.create("pass:verify")
    shown = await health_pass(graphql, owner)

    body = await revoke(graphql, shown["passId"], as_citizen=other)
    unknown = await revoke(graphql, "00000000-0000-0000-0000-000000000000", as_citizen=other)
    checked = (await verify(graphql, scanner.token, shown["credential"]))["data"]

    assert body["data"]["revokeHealthPass"] == {
        "revoked": None,
        "userErrors": [{"field": "passId", "code": "NOT_FOUND"}],
    }
    assert unknown["data"] == body["data"]
    assert checked["verifyHealthPass"]["result"] == "VALID"


async def test_an_operator_revokes_a_pass_and_the_holder_sees_it(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    operator = await partners.create("pass:revoke", name="Sở Y tế Hà Nội")
    scanner = await partners.create("pass:verify")
    shown = await health_pass(graphql, citizen)

    body = await revoke(graphql, shown["passId"], token=operator.token)
    checked = (await verify(graphql, scanner.token, shown["credential"]))["data"]
    log = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]

    assert body["data"]["revokeHealthPass"]["revoked"]["passId"] == shown["passId"]
    assert checked["verifyHealthPass"]["result"] == "REVOKED"
    assert {
        "actorKind": "PARTNER",
        "actorName": "Sở Y tế Hà Nội",
        "action": "PASS_REVOKE",
        "sections": ["healthPass"],
    } in [edge["node"] for edge in log]


async def test_a_partner_without_pass_revoke_cannot_revoke(graphql, given, partners):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    shown = await health_pass(graphql, citizen)

    body = await revoke(graphql, shown["passId"], token=scanner.token)
    checked = (await verify(graphql, scanner.token, shown["credential"]))["data"]

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert checked["verifyHealthPass"]["result"] == "VALID"


async def test_an_operator_revokes_a_pass_from_the_command_line(
    graphql, given, partners, healthgraph
):
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")
    shown = await health_pass(graphql, citizen)

    code, out, err = await healthgraph("pass", "revoke", shown["passId"])
    missing = await healthgraph("pass", "revoke", "00000000-0000-0000-0000-000000000000")
    checked = (await verify(graphql, scanner.token, shown["credential"]))["data"]

    assert (code, err) == (0, "")
    assert out.startswith(f"pass {shown['passId']} revoked at")
    assert missing[0] == 1 and "no such pass" in missing[2]
    assert checked["verifyHealthPass"]["result"] == "REVOKED"


async def test_offline_scanners_learn_revocations_from_a_signed_list(
    graphql, given, client, pass_issuer
):
    citizen = await vaccinated_citizen(given)
    shown = await health_pass(graphql, citizen)
    before = await revoked_list(client, pass_issuer.ring.keys())

    await revoke(graphql, shown["passId"], as_citizen=citizen)
    after = await revoked_list(client, pass_issuer.ring.keys())

    assert shown["passId"] not in before
    assert shown["passId"] in after


async def test_the_revoked_list_is_cacheable(client):
    first = await client.get("/.well-known/revoked-passes")
    conditional = await client.get(
        "/.well-known/revoked-passes", headers={"if-none-match": first.headers["etag"]}
    )
    stale = await client.get("/.well-known/revoked-passes", headers={"if-none-match": 'W/"x"'})

    assert first.headers["content-type"] == "application/jwt"
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert 0 < int(first.headers["cache-control"].split("=")[1]) <= 300
    assert first.headers["etag"].startswith('W/"')
    assert conditional.status_code == 304 and conditional.content == b""
    assert stale.status_code == 200 and stale.text == first.text


@pytest.mark.parametrize(
    ("result", "verified_as"),
    [(TestOutcome.POSITIVE, "REVOKED"), (TestOutcome.NEGATIVE, "VALID")],
    ids=["a positive result it brings revokes it", "a result that keeps the colour leaves it"],
)
async def test_records_that_link_after_a_verification_settle_the_live_pass(
    graphql, given, partners, result, verified_as
):
    citizen = await vaccinated_citizen(given)
    # A lab typed her insurance number, which she had not yet claimed: the result is no one's.
    await given.sample(
        insurance_number=INSURANCE,
        result=result,
        collected_at=datetime.now(UTC) - timedelta(days=2),
    )
    scanner = await partners.create("pass:verify")
    verifier = await partners.create("identity:verify")
    green = await health_pass(graphql, citizen)
    claimed = await graphql.query(
        CLAIM, {"input": {"insuranceNumber": INSURANCE}}, as_citizen=citizen
    )
    assert claimed["data"]["updateProfile"]["userErrors"] == [], claimed

    verified = await graphql.query(
        VERIFY_IDENTITY,
        {"input": {"citizenId": str(citizen), "insuranceNumber": INSURANCE}},
        token=verifier.token,
    )
    checked = (await verify(graphql, scanner.token, green["credential"]))["data"]

    assert verified["data"]["verifyIdentity"]["userErrors"] == [], verified
    assert checked["verifyHealthPass"]["result"] == verified_as
