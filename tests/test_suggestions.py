"""Field suggestions ("Did you mean ...?") help in development and are off in production,
where they would spell out the schema to callers who may not introspect it."""

from tests.test_introspection import PRODUCTION

MISSPELT = {"query": "{ vaccines { cod } }"}


async def test_a_misspelt_field_gets_a_suggestion_in_development(client):
    body = (await client.post("/graphql", json=MISSPELT)).json()

    assert "Did you mean 'code'?" in body["errors"][0]["message"]


async def test_a_misspelt_field_gets_no_suggestion_in_production(client_with):
    async with client_with(**PRODUCTION) as client:
        body = (await client.post("/graphql", json=MISSPELT)).json()

    [error] = body["errors"]
    assert error["message"] == "Cannot query field 'cod' on type 'Vaccine'."
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
