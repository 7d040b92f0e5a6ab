"""GraphQL over HTTP: media types, status codes and a JSON error body for every refusal."""

import uuid

import pytest

GRAPHQL_RESPONSE = "application/graphql-response+json"
VACCINES = "{ vaccines { code } }"


def _code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_a_client_that_accepts_graphql_response_json_gets_it(client):
    response = await client.post(
        "/graphql", json={"query": VACCINES}, headers={"Accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"]["vaccines"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
async def test_other_clients_get_application_json(client, accept):
    headers = {"Accept": accept} if accept else {}

    response = await client.post("/graphql", json={"query": VACCINES}, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("document", ["{ vaccines { ", "{ nope }"])
async def test_a_request_error_is_400_without_data_in_graphql_response_json(client, document):
    response = await client.post(
        "/graphql", json={"query": document}, headers={"Accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 400
    assert "data" not in response.json()
    assert _code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize("document", ["{ vaccines { ", "{ nope }"])
async def test_a_request_error_is_200_without_data_in_application_json(client, document):
    response = await client.post("/graphql", json={"query": document})

    assert response.status_code == 200
    assert "data" not in response.json()
    assert _code(response) == "BAD_USER_INPUT"


async def test_a_field_error_keeps_data_and_status_200_in_graphql_response_json(client):
    response = await client.post(
        "/graphql", json={"query": "{ me { fullName } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}
    assert _code(response) == "UNAUTHENTICATED"


async def test_a_document_nested_past_the_parser_is_bad_user_input(client):
    document = "{ a " * 1500 + "}" * 1500

    response = await client.post("/graphql", json={"query": document})

    assert "nested too deeply" in response.json()["errors"][0]["message"]
    assert _code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Unable to parse request body as JSON"),
        (b"null", "the request body must be a JSON object"),
        (b"5", "the request body must be a JSON object"),
        (b'"{ vaccines { code } }"', "the request body must be a JSON object"),
        (b'[{"query": "{ vaccines { code } }"}]', "batched requests are not supported"),
        (b'{"query": 5}', "`query` must be a string"),
        (b'{"query": "{ vaccines { code } }", "variables": 5}', "`variables` must be an object"),
        (b'{"query": "{ vaccines { code } }", "operationName": 5}', "`operationName` must be"),
        (b'{"query": "{ vaccines { code } }", "extensions": []}', "`extensions` must be an object"),
    ],
)
async def test_a_malformed_body_is_a_400_json_error(client, body, message):
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["message"].startswith(message)
    assert _code(response) == "BAD_USER_INPUT"


async def test_a_request_without_a_query_is_a_coded_error(client):
    response = await client.post("/graphql", json={"variables": {}})

    assert response.json()["errors"][0]["message"] == "no GraphQL query in the request"
    assert _code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_a_body_a_cross_site_form_could_send_is_refused(client, content_type):
    # Browsers send these content types across sites without a preflight: refusing
    # them (and reading credentials only from the Authorization header, never from a
    # cookie) is what keeps a forged request from running a query as someone.
    headers = {"Content-Type": content_type} if content_type else {}

    response = await client.post("/graphql", content=b'{"query": "{ me { id } }"}', headers=headers)

    assert response.status_code == 415
    assert _code(response) == "BAD_USER_INPUT"


async def test_a_query_runs_over_get(client):
    response = await client.get("/graphql", params={"query": VACCINES})

    assert response.status_code == 200
    assert response.json()["data"]["vaccines"]


async def test_a_mutation_over_get_is_405(client):
    response = await client.get("/graphql", params={"query": "mutation { logout { ok } }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _code(response) == "BAD_USER_INPUT"


async def test_a_get_query_with_a_cookie_is_still_anonymous(client, issuer):
    token = issuer.issue(uuid.uuid4())

    response = await client.get(
        "/graphql",
        params={"query": "{ me { id } }"},
        headers={"Cookie": f"Authorization=Bearer {token}; token={token}"},
    )

    assert response.json()["data"] == {"me": None}
    assert _code(response) == "UNAUTHENTICATED"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_other_methods_are_a_405_json_error(client, method):
    response = await client.request(method, "/graphql")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert _code(response) == "BAD_USER_INPUT"
