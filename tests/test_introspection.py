"""Introspection: on in development and for partners, off for everyone else in production."""

from pydantic import SecretStr

from models.config import Environment

SCHEMA_QUERY = {"query": "{ __schema { queryType { name } } }"}
PRODUCTION = {
    "env": Environment.PRODUCTION,
    "otp_secret": SecretStr("a-production-secret-of-some-length"),
    "qr_secret": SecretStr("another-production-secret-of-some-length"),
    "sms_gateway_url": "http://127.0.0.1:9/never-called",
}


async def test_anyone_introspects_in_development(client):
    body = (await client.post("/graphql", json=SCHEMA_QUERY)).json()

    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_an_anonymous_caller_cannot_introspect_in_production(client_with):
    async with client_with(**PRODUCTION) as client:
        body = (await client.post("/graphql", json=SCHEMA_QUERY)).json()

    assert "data" not in body
    assert "introspection" in body["errors"][0]["message"].lower()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_citizen_cannot_introspect_in_production(client_with, given, issuer):
    headers = {"Authorization": f"Bearer {issuer.issue(await given.citizen())}"}
    async with client_with(**PRODUCTION) as client:
        body = (await client.post("/graphql", json=SCHEMA_QUERY, headers=headers)).json()

    assert "data" not in body


async def test_a_partner_introspects_in_production(client_with, partners):
    partner = await partners.create("citizen:read:vaccinations")
    headers = {"Authorization": f"Bearer {partner.token}"}
    async with client_with(**PRODUCTION) as client:
        body = (await client.post("/graphql", json=SCHEMA_QUERY, headers=headers)).json()

    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
