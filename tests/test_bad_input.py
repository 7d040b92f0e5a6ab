"""Whatever a caller sends, a mistake of theirs is told as theirs, never as INTERNAL."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models.stores import Store

VENUE = "query($code: String!) { venue(code: $code) { name } }"
UPDATE = """mutation($input: ProfileInput!) { updateProfile(input: $input) {
  profile { fullName } userErrors { field code } } }"""
GRANT = """mutation($input: GrantConsentInput!) { grantConsent(input: $input) {
  consent { id } userErrors { field code } } }"""


@pytest.mark.parametrize("code", ["VN-0\x00001", "\x00"])
async def test_a_nul_character_in_a_venue_code_is_bad_user_input(graphql, given, code):
    citizen = await given.citizen()

    body = await graphql.query(VENUE, {"code": code}, as_citizen=citizen)

    assert body["data"]["venue"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_nul_character_in_a_query_literal_is_bad_user_input(graphql, given):
    citizen = await given.citizen()

    body = await graphql.query('{ venue(code: "VN\\u0000") { name } }', as_citizen=citizen)

    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_venue_code_without_nul_is_looked_up(graphql, given):
    citizen = await given.citizen()

    body = await graphql.query(VENUE, {"code": "VN-000999"}, as_citizen=citizen)

    assert body == {"data": {"venue": None}}


@pytest.mark.parametrize("name", ["Nguyễn\x00Văn An", "Nguyễn Văn\x07An"])
async def test_a_control_character_in_a_name_is_a_user_error(graphql, given, name):
    citizen = await given.citizen()

    body = await graphql.query(UPDATE, {"input": {"fullName": name}}, as_citizen=citizen)

    assert body["data"]["updateProfile"] == {
        "profile": None,
        "userErrors": [{"field": "fullName", "code": "INVALID_VALUE"}],
    }


async def test_a_deleted_citizens_token_cannot_grant_consent(graphql, given, partners, engines):
    citizen = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations")
    token = graphql.issuer.issue(citizen)
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.text("DELETE FROM core.citizens WHERE id = :id"), {"id": citizen})
    grant = {
        "input": {
            "partnerId": str(partner.partner_id),
            "scopes": ["CITIZEN_READ_VACCINATIONS"],
            "expiresAt": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        }
    }

    body = await graphql.query(GRANT, grant, token=token)

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_living_citizens_token_grants_consent(graphql, given, partners):
    citizen = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations")
    grant = {
        "input": {
            "partnerId": str(partner.partner_id),
            "scopes": ["CITIZEN_READ_VACCINATIONS"],
            "expiresAt": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        }
    }

    body = await graphql.query(GRANT, grant, as_citizen=citizen)

    assert body["data"]["grantConsent"]["consent"]["id"]
