"""A plain POST of a document a compiled plan knows is answered without the generic
view, with the very answer the view gives: same status, media type and bytes."""

from unittest import mock

import httpx
import pytest

from api.graphql_app import HealthGraphQL
from api.schema import schema

DASHBOARD = """query Dashboard { me { fullName vaccinations { doseNumber }
  checkIns(first: 2) { edges { cursor node { checkedInAt } } } } }"""


async def _post(
    client: httpx.AsyncClient, body: dict, token: str | None, accept: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept is not None:
        headers["Accept"] = accept
    return await client.post("/graphql", json=body, headers=headers)


async def _learnt(client: httpx.AsyncClient, token: str) -> None:
    first = await _post(client, {"query": DASHBOARD}, token)
    assert first.status_code == 200 and "errors" not in first.json()
    assert schema.plans.known(DASHBOARD) is not None


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/json",
        "application/graphql-response+json",
        "*/*",
        "application/graphql-response+json;q=0, application/json",
    ],
)
async def test_a_known_document_is_answered_alike_with_or_without_the_view(
    client, given, issuer, accept
):
    citizen = await given.citizen(full_name="Phan Thị Hoa")
    token = issuer.issue(citizen)
    await _learnt(client, token)

    plain = await _post(client, {"query": DASHBOARD}, token, accept)
    # An extension (one no one reads) leaves the request to the view, which uses the plan.
    through_view = await _post(client, {"query": DASHBOARD, "extensions": {"x": 1}}, token, accept)

    assert plain.status_code == through_view.status_code == 200
    assert plain.headers["content-type"] == through_view.headers["content-type"]
    assert plain.content == through_view.content
    assert plain.json()["data"]["me"]["fullName"] == "Phan Thị Hoa"


async def test_a_plain_request_for_a_known_document_does_not_run_the_view(client, given, issuer):
    token = issuer.issue(await given.citizen())
    await _learnt(client, token)

    with mock.patch.object(HealthGraphQL, "run", side_effect=AssertionError("the view ran")):
        answer = await _post(
            client, {"query": DASHBOARD, "operationName": "Dashboard", "variables": {}}, token
        )

    assert answer.status_code == 200 and "errors" not in answer.json()


@pytest.mark.parametrize(
    "body",
    [
        {"query": DASHBOARD, "variables": {"unused": 1}},
        {"query": DASHBOARD, "operationName": "Other"},
        {"query": DASHBOARD, "variables": []},
        {"query": DASHBOARD, "extensions": {"persistedQuery": {"version": 1}}},
        {"query": DASHBOARD, "documentId": "x"},
    ],
)
async def test_a_request_that_is_not_plain_is_left_to_the_view(client, given, issuer, body):
    token = issuer.issue(await given.citizen())
    await _learnt(client, token)
    ran = []
    original = HealthGraphQL.run

    async def view(self, request, *args, **kwargs):
        ran.append(True)
        return await original(self, request, *args, **kwargs)

    with mock.patch.object(HealthGraphQL, "run", view):
        await _post(client, body, token)

    assert ran == [True]


async def test_a_partners_request_for_a_known_document_is_the_views_answer(
    client, given, issuer, partners
):
    await _learnt(client, issuer.issue(await given.citizen()))
    partner = await partners.create("citizen:read:vaccinations")

    plain = await _post(client, {"query": DASHBOARD}, partner.token)
    through_view = await _post(client, {"query": DASHBOARD, "extensions": {"x": 1}}, partner.token)

    assert plain.status_code == through_view.status_code
    assert plain.json() == through_view.json()
    assert plain.json()["errors"]


async def test_a_bad_token_on_a_plain_request_is_refused_as_the_view_refuses_it(
    client, given, issuer
):
    await _learnt(client, issuer.issue(await given.citizen()))

    plain = await _post(client, {"query": DASHBOARD}, "not-a-token")
    through_view = await _post(client, {"query": DASHBOARD, "extensions": {"x": 1}}, "not-a-token")

    assert plain.status_code == through_view.status_code
    assert plain.json() == through_view.json()
    assert plain.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
