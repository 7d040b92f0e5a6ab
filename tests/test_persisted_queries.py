"""Automatic persisted queries: Apollo's protocol, kept in the core store."""

import hashlib
import json
import subprocess
import uuid

from models.persisted_query import find_document
from models.stores import Store


def _hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _persisted(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": _hash(document)}}


def _unique_query() -> str:
    return f"query Vaccines {{ vaccines {{ code n{uuid.uuid4().hex}: name }} }}"


async def test_an_unknown_hash_is_persisted_query_not_found(client):
    response = await client.post("/graphql", json={"extensions": _persisted(_unique_query())})

    [error] = response.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_query_sent_with_its_hash_is_registered_for_every_process(client, engines):
    document = _unique_query()

    sent = await client.post(
        "/graphql", json={"query": document, "extensions": _persisted(document)}
    )
    again = await client.post("/graphql", json={"extensions": _persisted(document)})

    assert sent.json()["data"]["vaccines"]
    assert again.json() == sent.json()
    async with engines.reader(Store.CORE).connect() as core:
        assert await find_document(core, _hash(document)) == document


async def test_a_query_whose_hash_does_not_match_is_refused_and_not_registered(client, engines):
    document = _unique_query()

    response = await client.post(
        "/graphql", json={"query": document, "extensions": _persisted(_unique_query())}
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    async with engines.reader(Store.CORE).connect() as core:
        assert await find_document(core, _hash(document)) is None


async def test_an_invalid_query_is_not_registered(client, engines):
    document = f"{{ nope{uuid.uuid4().hex} }}"

    await client.post("/graphql", json={"query": document, "extensions": _persisted(document)})

    async with engines.reader(Store.CORE).connect() as core:
        assert await find_document(core, _hash(document)) is None


async def test_a_malformed_persisted_query_extension_is_bad_user_input(client):
    response = await client.post(
        "/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}}
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_apollo_client_sends_the_hash_then_retries_with_the_query(live_server, node_clients):
    nonce = uuid.uuid4().hex
    run = subprocess.run(
        ["node", "apollo_persisted_query.mjs", f"{live_server}/graphql", nonce],
        cwd=node_clients,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome = json.loads(run.stdout)

    hash_only, with_query, second_client = outcome["requests"]
    assert not hash_only["withQuery"] and hash_only["hash"]
    assert with_query["withQuery"] and with_query["hash"] == hash_only["hash"]
    assert not second_client["withQuery"] and second_client["hash"] == hash_only["hash"]
    assert outcome["first"]["vaccines"][0][f"name_{nonce}"]
    assert outcome["second"] == outcome["first"]


ME = "{ me { fullName } }"


async def test_in_allow_list_mode_a_citizen_runs_a_registered_operation(
    client_with, given, issuer, engines
):
    citizen = await given.citizen()
    async with client_with(persisted_queries_only=True) as client:
        await _register(engines, ME)
        headers = {"Authorization": f"Bearer {issuer.issue(citizen)}"}

        by_hash = await client.post(
            "/graphql", json={"extensions": _persisted(ME)}, headers=headers
        )
        by_text = await client.post("/graphql", json={"query": ME}, headers=headers)

    assert by_hash.json()["data"]["me"]["fullName"]
    assert by_text.json()["data"]["me"]["fullName"]


async def test_in_allow_list_mode_a_citizen_cannot_run_or_register_another_operation(
    client_with, given, issuer
):
    citizen = await given.citizen()
    document = "{ me { fullName dateOfBirth } }"
    async with client_with(persisted_queries_only=True) as client:
        headers = {"Authorization": f"Bearer {issuer.issue(citizen)}"}

        plain = await client.post("/graphql", json={"query": document}, headers=headers)
        registering = await client.post(
            "/graphql",
            json={"query": document, "extensions": _persisted(document)},
            headers=headers,
        )

    for response in (plain, registering):
        assert "data" not in response.json()
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _register(engines, document: str) -> None:
    from models.persisted_query import register_document

    async with engines[Store.CORE].begin() as core:
        await register_document(core, document)


async def test_in_allow_list_mode_a_partner_registers_operations_for_citizens(
    client_with, given, issuer, partners
):
    citizen = await given.citizen()
    partner = await partners.create("citizen:read:vaccinations")
    document = f"query Mine {{ me {{ fullName n{uuid.uuid4().hex}: fullName }} }}"
    payload = {"query": document, "extensions": _persisted(document)}
    async with client_with(persisted_queries_only=True) as client:
        await client.post("/graphql", json=payload, headers=_bearer(partner.token))
        body = (
            await client.post("/graphql", json=payload, headers=_bearer(issuer.issue(citizen)))
        ).json()

    assert body["data"]["me"]["fullName"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
