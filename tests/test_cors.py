"""CORS: browsers on the listed origins may call the API, others may not."""

ALLOWED = "https://app.example.vn"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_a_listed_origin_passes_the_preflight(client_with):
    async with client_with(cors_allowed_origins=[ALLOWED]) as client:
        response = await client.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_another_origin_fails_the_preflight(client_with):
    async with client_with(cors_allowed_origins=[ALLOWED]) as client:
        response = await client.options(
            "/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_by_default(client):
    response = await client.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_listed_origin_reads_the_answer(client_with):
    async with client_with(cors_allowed_origins=[ALLOWED]) as client:
        response = await client.post(
            "/graphql", json={"query": "{ vaccines { code } }"}, headers={"Origin": ALLOWED}
        )

    assert response.headers["access-control-allow-origin"] == ALLOWED
