"""A partner reads a citizen's data only within that citizen's live consent."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from strawberry import relay

from models.stores import Store
from models.venue import VenueKind

READ = """query($id: ID!) { citizen(id: $id) {
  id fullName
  vaccinations { vaccine { code } }
  testResults { edges { node { result } } }
  checkIns { edges { node { venue { name } } } }
} }"""
VACCINATIONS = (
    """query($id: ID!) { citizen(id: $id) { fullName vaccinations { vaccine { code } } } }"""
)
TESTS = """query($id: ID!) { citizen(id: $id) { testResults { edges { node { result } } } } }"""
GRANT = """mutation($input: GrantConsentInput!) { grantConsent(input: $input) {
  consent { id partner { id name } scopes live expiresAt }
  userErrors { field code message } } }"""
REVOKE = """mutation($id: ID!) { revokeConsent(id: $id) {
  consent { id live revokedAt } userErrors { field code } } }"""
MY_CONSENTS = "{ me { consents { id partner { name } scopes live } } }"


def node_id(citizen: uuid.UUID) -> str:
    return str(relay.GlobalID("Citizen", str(citizen)))


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def citizen_with_records(given) -> uuid.UUID:
    citizen = await given.citizen(national_id="024090001234", full_name="Hoàng Thị Em")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(citizen, await given.venue(VenueKind.MARKET, "Chợ Lục Ngạn"), 2)
    return citizen


async def test_a_partner_without_consent_sees_nothing(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")

    body = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)

    assert body["data"] == {"citizen": None}
    assert codes(body) == ["FORBIDDEN"]
    assert "Hoàng" not in str(body)


async def test_the_same_partner_with_consent_reads_the_citizen(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")

    body = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)

    assert body == {
        "data": {
            "citizen": {
                "fullName": "Hoàng Thị Em",
                "vaccinations": [{"vaccine": {"code": "AZD1222"}}],
            }
        }
    }


@pytest.mark.parametrize("citizen_id", ["nobody", str(uuid.uuid4()), "VmFjY2luYXRpb246eA=="])
async def test_a_missing_citizen_looks_exactly_like_one_without_consent(
    graphql, given, partners, citizen_id
):
    existing = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")
    unconsented = await graphql.query(VACCINATIONS, {"id": node_id(existing)}, token=partner.token)

    missing = await graphql.query(VACCINATIONS, {"id": citizen_id}, token=partner.token)

    assert missing["data"] == unconsented["data"] == {"citizen": None}
    strip = [{k: v for k, v in e.items() if k != "locations"} for e in missing["errors"]]
    assert strip == [
        {k: v for k, v in e.items() if k != "locations"} for e in unconsented["errors"]
    ]


async def test_consent_for_vaccinations_does_not_open_test_results(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations", "citizen:read:tests")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")

    body = await graphql.query(READ, {"id": node_id(citizen)}, token=partner.token)

    seen = body["data"]["citizen"]
    assert seen["vaccinations"] == [{"vaccine": {"code": "AZD1222"}}]
    assert seen["testResults"] is None
    assert seen["checkIns"] is None
    assert {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]} == {
        ("citizen", "testResults"): "FORBIDDEN",
        ("citizen", "checkIns"): "FORBIDDEN",
    }


async def test_consent_for_tests_opens_test_results(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations", "citizen:read:tests")
    await partners.consent(citizen, partner.partner_id, "citizen:read:tests")

    body = await graphql.query(TESTS, {"id": node_id(citizen)}, token=partner.token)

    assert body == {
        "data": {"citizen": {"testResults": {"edges": [{"node": {"result": "NEGATIVE"}}]}}}
    }


async def test_consent_does_not_stretch_beyond_the_partners_own_scopes(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")
    # A consent row naming a scope the token lacks (the API refuses to grant one).
    await partners.consent(
        citizen, partner.partner_id, "citizen:read:vaccinations", "citizen:read:tests"
    )

    body = await graphql.query(TESTS, {"id": node_id(citizen)}, token=partner.token)

    assert body["data"]["citizen"]["testResults"] is None
    assert codes(body) == ["FORBIDDEN"]


async def test_an_expired_consent_opens_nothing(graphql, given, partners, engines):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")
    live = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.text("UPDATE core.consents SET expires_at = now()"))

    expired = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)

    assert live["data"]["citizen"] is not None
    assert expired["data"] == {"citizen": None}
    assert codes(expired) == ["FORBIDDEN"]


async def test_consent_to_one_partner_opens_nothing_to_another(graphql, given, partners):
    citizen = await citizen_with_records(given)
    trusted = await partners.create("citizen:read:vaccinations")
    other = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, trusted.partner_id, "citizen:read:vaccinations")

    body = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=other.token)

    assert codes(body) == ["FORBIDDEN"]


async def test_consent_from_one_citizen_opens_nothing_of_another(graphql, given, partners):
    consenting = await citizen_with_records(given)
    neighbour = await given.citizen(full_name="Đỗ Văn Giang")
    partner = await partners.create("citizen:read:vaccinations")
    await partners.consent(consenting, partner.partner_id, "citizen:read:vaccinations")

    body = await graphql.query(VACCINATIONS, {"id": node_id(neighbour)}, token=partner.token)

    assert codes(body) == ["FORBIDDEN"]
    assert "Giang" not in str(body)


async def test_a_partner_reaches_consented_records_by_node_id_and_no_others(
    graphql, given, partners
):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations", "citizen:read:tests")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")
    ids = (
        await graphql.query(
            "{ me { vaccinations { id } testResults { edges { node { id } } } } }",
            as_citizen=citizen,
        )
    )["data"]["me"]
    node = "query($id: ID!) { node(id: $id) { id } }"

    dose = await graphql.query(node, {"id": ids["vaccinations"][0]["id"]}, token=partner.token)
    sample_id = ids["testResults"]["edges"][0]["node"]["id"]
    sample = await graphql.query(node, {"id": sample_id}, token=partner.token)

    assert dose["data"]["node"] == {"id": ids["vaccinations"][0]["id"]}
    assert sample["data"]["node"] is None


@pytest.mark.parametrize(
    "field", ["consents { id }", "accessLog { edges { cursor } }", "profile { fullName }"]
)
async def test_a_consented_partner_still_cannot_read_the_citizens_own_pages(
    graphql, given, partners, field
):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")

    body = await graphql.query(
        f"query($id: ID!) {{ citizen(id: $id) {{ fullName {field} }} }}",
        {"id": node_id(citizen)},
        token=partner.token,
    )

    assert body["data"]["citizen"]["fullName"] == "Hoàng Thị Em"
    assert codes(body) == ["FORBIDDEN"]


async def test_a_citizen_grants_lists_and_revokes_consent(graphql, given, partners):
    citizen = await citizen_with_records(given)
    partner = await partners.create("citizen:read:vaccinations", name="Bệnh viện Bắc Giang")
    expires_at = (datetime.now(UTC) + timedelta(days=30)).isoformat()

    granted = await graphql.query(
        GRANT,
        {
            "input": {
                "partnerId": str(partner.partner_id),
                "scopes": ["CITIZEN_READ_VACCINATIONS"],
                "expiresAt": expires_at,
            }
        },
        as_citizen=citizen,
    )
    consent = granted["data"]["grantConsent"]["consent"]
    listed = await graphql.query(MY_CONSENTS, as_citizen=citizen)
    reading = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)
    revoked = await graphql.query(REVOKE, {"id": consent["id"]}, as_citizen=citizen)
    after = await graphql.query(VACCINATIONS, {"id": node_id(citizen)}, token=partner.token)
    listed_after = await graphql.query(MY_CONSENTS, as_citizen=citizen)

    assert consent["partner"]["name"] == "Bệnh viện Bắc Giang"
    assert consent["scopes"] == ["CITIZEN_READ_VACCINATIONS"] and consent["live"] is True
    assert listed["data"]["me"]["consents"] == [
        {
            "id": consent["id"],
            "partner": {"name": "Bệnh viện Bắc Giang"},
            "scopes": ["CITIZEN_READ_VACCINATIONS"],
            "live": True,
        }
    ]
    assert reading["data"]["citizen"] is not None
    assert revoked["data"]["revokeConsent"]["consent"]["live"] is False
    assert codes(after) == ["FORBIDDEN"]
    assert listed_after["data"]["me"]["consents"][0]["live"] is False


def grant_input(partner_id: object, *scopes: str, days: float = 30) -> dict:
    return {
        "input": {
            "partnerId": str(partner_id),
            "scopes": list(scopes),
            "expiresAt": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
        }
    }


@pytest.mark.parametrize(
    ("scopes", "days", "field", "code"),
    [
        (["CITIZEN_READ_TESTS"], 30, "scopes", "SCOPE_NOT_GRANTABLE"),
        (["TESTING_WRITE"], 30, "scopes", "SCOPE_NOT_GRANTABLE"),
        ([], 30, "scopes", "INVALID_VALUE"),
        (["CITIZEN_READ_VACCINATIONS"], -1, "expiresAt", "INVALID_VALUE"),
        (["CITIZEN_READ_VACCINATIONS"], 400, "expiresAt", "INVALID_VALUE"),
        (["CITIZEN_READ_VACCINATIONS"], 30, None, None),
    ],
)
async def test_grant_consent_checks_its_input(graphql, given, partners, scopes, days, field, code):
    citizen = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations", "testing:write")

    body = await graphql.query(
        GRANT, grant_input(partner.partner_id, *scopes, days=days), as_citizen=citizen
    )

    errors = body["data"]["grantConsent"]["userErrors"]
    if code is None:
        assert errors == [] and body["data"]["grantConsent"]["consent"]["live"]
    else:
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
        assert body["data"]["grantConsent"]["consent"] is None


@pytest.mark.parametrize("partner_id", [uuid.uuid4(), "not-an-id"])
async def test_consent_to_an_unknown_partner_is_refused(graphql, given, partner_id):
    citizen = await given.citizen()

    body = await graphql.query(
        GRANT, grant_input(partner_id, "CITIZEN_READ_VACCINATIONS"), as_citizen=citizen
    )

    assert body["data"]["grantConsent"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_citizen_cannot_revoke_another_citizens_consent(graphql, given, partners):
    owner = await given.citizen()
    meddler = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations")
    consent_id = await partners.consent(owner, partner.partner_id, "citizen:read:vaccinations")

    meddling = await graphql.query(REVOKE, {"id": str(consent_id)}, as_citizen=meddler)
    owners = await graphql.query(REVOKE, {"id": str(consent_id)}, as_citizen=owner)

    assert meddling["data"]["revokeConsent"]["userErrors"] == [{"field": "id", "code": "NOT_FOUND"}]
    assert owners["data"]["revokeConsent"]["consent"]["live"] is False


async def test_only_a_citizen_grants_consent(graphql, partners):
    partner = await partners.create("citizen:read:vaccinations")

    body = await graphql.query(
        GRANT, grant_input(partner.partner_id, "CITIZEN_READ_VACCINATIONS"), token=partner.token
    )

    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]


async def test_sibling_fields_are_refused_with_one_message(graphql, given, partners):
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    partner = await partners.create("citizen:read:vaccinations", "citizen:read:tests")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")
    node = str(relay.GlobalID("Citizen", str(citizen)))

    body = await graphql.query(
        """query($id: ID!) { citizen(id: $id) {
          vaccinations { id } testResults { edges { node { id } } } consents { id } } }""",
        {"id": node},
        token=partner.token,
    )

    assert body["data"]["citizen"]["vaccinations"]
    refusals = {tuple(e["path"]): e for e in body["errors"]}
    assert set(refusals) == {("citizen", "testResults"), ("citizen", "consents")}
    assert {e["extensions"]["code"] for e in refusals.values()} == {"FORBIDDEN"}
    assert len({e["message"] for e in refusals.values()}) == 1
