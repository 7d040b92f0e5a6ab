"""Health, metrics, signing keys and the GraphiQL page."""

import uuid

import jwt


async def test_health_answers_without_touching_the_stores(client):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics_are_prometheus_text(client):
    await client.get("/healthz")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert 'healthgraph_http_requests_total{path="/healthz",status="200"}' in response.text


async def test_jwks_publishes_the_key_that_signs_access_tokens(client, issuer):
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    token = issuer.issue(uuid.uuid4())

    [jwk] = [key for key in keys if key["kid"] == jwt.get_unverified_header(token)["kid"]]
    public_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, public_key, algorithms=["ES256"], audience=issuer.audience)
    assert claims["iss"] == issuer.issuer
    assert "d" not in jwk


async def test_a_browser_gets_graphiql_on_get(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_unknown_fields_are_bad_user_input(graphql):
    body = await graphql.query("{ nope }")

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_documents_with_too_many_aliases_are_refused(graphql):
    aliases = " ".join(f"a{n}: vaccines {{ code }}" for n in range(31))

    body = await graphql.query(f"{{ {aliases} }}")

    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_documents_within_the_alias_limit_are_answered(graphql):
    aliases = " ".join(f"a{n}: vaccines {{ code }}" for n in range(30))

    body = await graphql.query(f"{{ {aliases} }}")

    assert "errors" not in body
    assert len(body["data"]) == 30
