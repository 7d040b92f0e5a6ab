"""Every object with an ID has a global ID: node(id:) fetches it under the rules of the
field that lists it, and for anyone else it is null, exactly like one that does not exist."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from strawberry import relay

from tests.conftest import Given, GraphQLClient
from tests.test_exposure_alert import MARK_CASE, a_case_and_a_contact_at_the_market, mark_input
from tests.test_record_issues import MISSING, report

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
OWN = """{ me {
  consents { id partner { id } }
  accessLog { edges { node { id } } }
  exposureAlerts { id }
  recordIssues { edges { node { id } } } } }"""
READ = "query($id: ID!) { citizen(id: $id) { vaccinations { id } } }"
OWNED = ["Consent", "Partner", "AccessLogEntry", "ExposureAlert", "RecordIssue"]


@dataclass
class World:
    owner: uuid.UUID
    partner: Any
    ids: dict[str, str]


async def _world(graphql: GraphQLClient, given: Given, partners: Any) -> World:
    """A citizen with a consent to a partner that read them, an exposure alert and a report."""
    case, owner = await a_case_and_a_contact_at_the_market(given)
    authority = await partners.create(
        "exposures:read", "exposures:authority", name="CDC Bắc Giang", province_code="24"
    )
    await graphql.query(MARK_CASE, mark_input(case), token=authority.token)
    partner = await partners.create("citizen:read:vaccinations", name="Sổ sức khỏe")
    await partners.consent(owner, partner.partner_id, "citizen:read:vaccinations")
    read = await graphql.query(READ, {"id": relay.to_base64("Citizen", owner)}, token=partner.token)
    assert "errors" not in read, read
    await report(graphql, owner, **MISSING)
    me = (await graphql.query(OWN, as_citizen=owner))["data"]["me"]
    [consent] = me["consents"]
    entry = me["accessLog"]["edges"][0]
    [alert] = me["exposureAlerts"]
    [issue] = me["recordIssues"]["edges"]
    ids = {
        "Consent": consent["id"],
        "Partner": consent["partner"]["id"],
        "AccessLogEntry": entry["node"]["id"],
        "ExposureAlert": alert["id"],
        "RecordIssue": issue["node"]["id"],
    }
    return World(owner, partner, ids)


async def _node(graphql: GraphQLClient, node_id: str, **caller: Any) -> Any:
    body = await graphql.query(NODE, {"id": node_id}, **caller)
    assert "errors" not in body, body
    return body["data"]["node"]


@pytest.mark.parametrize("typename", OWNED)
async def test_the_citizen_fetches_their_objects_by_global_id(graphql, given, partners, typename):
    world = await _world(graphql, given, partners)

    node = await _node(graphql, world.ids[typename], as_citizen=world.owner)

    assert node == {"__typename": typename, "id": world.ids[typename]}
    assert relay.from_base64(world.ids[typename])[0] == typename


@pytest.mark.parametrize("typename", OWNED)
async def test_another_citizen_gets_null_for_those_global_ids(graphql, given, partners, typename):
    world = await _world(graphql, given, partners)
    stranger = await given.citizen()

    assert await _node(graphql, world.ids[typename], as_citizen=stranger) is None


@pytest.mark.parametrize("typename", OWNED)
async def test_an_anonymous_caller_gets_null_for_those_global_ids(
    graphql, given, partners, typename
):
    world = await _world(graphql, given, partners)

    assert await _node(graphql, world.ids[typename]) is None


@pytest.mark.parametrize("typename", ["Consent", "AccessLogEntry", "ExposureAlert"])
async def test_the_consented_partner_gets_null_for_the_citizens_own_objects(
    graphql, given, partners, typename
):
    world = await _world(graphql, given, partners)

    assert await _node(graphql, world.ids[typename], token=world.partner.token) is None


async def test_a_partner_fetches_itself(graphql, given, partners):
    world = await _world(graphql, given, partners)

    node = await _node(graphql, world.ids["Partner"], token=world.partner.token)

    assert node == {"__typename": "Partner", "id": world.ids["Partner"]}


async def test_another_partner_gets_null_for_a_partner(graphql, given, partners):
    world = await _world(graphql, given, partners)
    other = await partners.create("citizen:read:vaccinations")

    assert await _node(graphql, world.ids["Partner"], token=other.token) is None


async def test_a_citizen_gets_null_for_a_partner_they_never_consented_to(graphql, given, partners):
    world = await _world(graphql, given, partners)
    stranger = await given.citizen()

    assert await _node(graphql, world.ids["Partner"], as_citizen=stranger) is None


async def test_an_operator_fetches_a_report_of_their_province_and_it_is_logged(
    graphql, given, partners
):
    world = await _world(graphql, given, partners)
    operator = await partners.create("reconcile", name="Sở Y tế Bắc Giang", province_code="24")

    node = await _node(graphql, world.ids["RecordIssue"], token=operator.token)

    assert node == {"__typename": "RecordIssue", "id": world.ids["RecordIssue"]}
    log = "{ me { accessLog { edges { node { actorName sections } } } } }"
    entries = (await graphql.query(log, as_citizen=world.owner))["data"]["me"]["accessLog"]
    assert {"actorName": "Sở Y tế Bắc Giang", "sections": ["recordIssues"]} in [
        edge["node"] for edge in entries["edges"]
    ]


async def test_an_operator_of_another_province_gets_null_for_the_report(graphql, given, partners):
    world = await _world(graphql, given, partners)
    operator = await partners.create("reconcile", name="Sở Y tế Hà Nội", province_code="01")

    assert await _node(graphql, world.ids["RecordIssue"], token=operator.token) is None


async def _unmatched(given: Given) -> str:
    record_id = await given.vaccination(national_id="024099999999")
    return str(relay.to_base64("UnmatchedRecord", f"immunization:{record_id}"))


async def test_an_operator_fetches_an_unmatched_record_of_their_province(graphql, given, partners):
    node_id = await _unmatched(given)
    operator = await partners.create("reconcile", province_code="24")

    node = await _node(graphql, node_id, token=operator.token)

    assert node == {"__typename": "UnmatchedRecord", "id": node_id}


@pytest.mark.parametrize("caller", ["other province", "citizen", "anonymous"])
async def test_anyone_else_gets_null_for_an_unmatched_record(graphql, given, partners, caller):
    node_id = await _unmatched(given)
    callers: dict[str, dict[str, Any]] = {
        "other province": {"token": (await partners.create("reconcile", province_code="01")).token},
        "citizen": {"as_citizen": await given.citizen()},
        "anonymous": {},
    }

    assert await _node(graphql, node_id, **callers[caller]) is None


REQUEST = """mutation($phone: String!) { requestOtp(phone: $phone) { challenge { id } } }"""
VERIFY = """mutation($id: ID!, $code: String!) { verifyOtp(challengeId: $id, code: $code) {
  session { citizenId } userErrors { code } } }"""


@pytest.mark.parametrize("form", ["global", "bare"])
async def test_a_sign_in_challenge_is_verified_by_its_global_id_or_bare_uuid(
    graphql, sms_inbox, form
):
    body = await graphql.query(REQUEST, {"phone": "0912345670"})
    challenge_id = body["data"]["requestOtp"]["challenge"]["id"]
    assert relay.from_base64(challenge_id)[0] == "OtpChallenge"
    sent = challenge_id if form == "global" else relay.from_base64(challenge_id)[1]

    verified = await graphql.query(
        VERIFY, {"id": sent, "code": sms_inbox.last_code_for("0912345670")}
    )

    assert verified["data"]["verifyOtp"]["userErrors"] == []
    assert verified["data"]["verifyOtp"]["session"]["citizenId"]


async def test_node_never_shows_a_sign_in_challenge(graphql, sms_inbox):
    body = await graphql.query(REQUEST, {"phone": "0912345671"})
    challenge_id = body["data"]["requestOtp"]["challenge"]["id"]

    assert await _node(graphql, challenge_id) is None


GRANT = """mutation($input: GrantConsentInput!) { grantConsent(input: $input) {
  consent { id partner { id } } userErrors { field code } } }"""
REVOKE = (
    """mutation($id: ID!) { revokeConsent(id: $id) { consent { live } userErrors { code } } }"""
)


def _grant(partner_id: str) -> dict[str, Any]:
    return {
        "input": {
            "partnerId": partner_id,
            "scopes": ["CITIZEN_READ_VACCINATIONS"],
            "expiresAt": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        }
    }


@pytest.mark.parametrize("form", ["global", "bare"])
async def test_consent_is_granted_and_revoked_by_global_id_or_bare_uuid(
    graphql, given, partners, form
):
    citizen = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations")
    partner_global = relay.to_base64("Partner", partner.partner_id)

    granted = await graphql.query(
        GRANT,
        _grant(partner_global if form == "global" else str(partner.partner_id)),
        as_citizen=citizen,
    )
    consent = granted["data"]["grantConsent"]["consent"]
    revoked = await graphql.query(
        REVOKE,
        {"id": consent["id"] if form == "global" else relay.from_base64(consent["id"])[1]},
        as_citizen=citizen,
    )

    assert consent["partner"]["id"] == partner_global
    assert revoked["data"]["revokeConsent"] == {"consent": {"live": False}, "userErrors": []}


async def test_an_id_of_another_type_names_no_consent(graphql, given, partners):
    world = await _world(graphql, given, partners)

    revoked = await graphql.query(REVOKE, {"id": world.ids["Partner"]}, as_citizen=world.owner)
    granted = await graphql.query(GRANT, _grant(world.ids["Consent"]), as_citizen=world.owner)

    assert revoked["data"]["revokeConsent"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert granted["data"]["grantConsent"]["userErrors"][0]["code"] == "NOT_FOUND"
