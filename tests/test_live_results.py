"""testResultUpdated over graphql-transport-ws, fanned out between app processes."""

import asyncio
import csv
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from strawberry import relay
from strawberry.utils.str_converters import to_snake_case

from auth.tokens import TokenIssuer
from models.notify import Channel, Notice, publish
from models.session import revoke_family, store_token
from models.stores import Engines, Store
from tests.conftest import Given, LiveSocket

BORN = date(1990, 5, 14)
SUBSCRIPTION = "subscription { testResultUpdated { id result sampleCode collectedAt } }"


@pytest.fixture(scope="module")
def servers(app_servers: Any) -> Any:
    return app_servers(2, HEALTHGRAPH_LIVE_CHECK_SECONDS="1")


async def _lab_records(given: Given, engines: Engines, phone: str, **sample: Any) -> uuid.UUID:
    """A lab's process writes a result and publishes it in the same core transaction."""
    sample_id = await given.sample(phone=phone, date_of_birth=BORN, **sample)
    await _publish(engines, sample_id)
    return sample_id


async def _publish(engines: Engines, sample_id: uuid.UUID, to: uuid.UUID | None = None) -> None:
    """Publish the sample's notice to its owner (or, forged, to someone else)."""
    async with engines[Store.CORE].begin() as core:
        owner = (
            await core.execute(
                sa.text("SELECT citizen_id FROM core.record_links WHERE record_id = :id"),
                {"id": sample_id},
            )
        ).scalar_one()
        await publish(core, Channel.TEST_RESULTS, Notice(to or owner, sample_id))


async def _subscribed(socket: LiveSocket, token: str) -> None:
    assert (await socket.init({"Authorization": f"Bearer {token}"}))["type"] == "connection_ack"
    await socket.subscribe(SUBSCRIPTION)


async def _received(socket: LiveSocket, publish_again: Any, timeout: float = 15) -> dict[str, Any]:
    """The next event; notices are published again until it comes, since a subscription
    starts listening a moment after the subscribe message."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await publish_again()
        try:
            message = await socket.receive(timeout=0.5)
        except TimeoutError:
            assert asyncio.get_running_loop().time() < deadline, "no event arrived"
            continue
        assert message["type"] == "next", message
        return dict(message["payload"]["data"]["testResultUpdated"])


def _sample_of(result: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(result["id"]).node_id)


RECORD_TEST = """mutation($input: RecordTestResultInput!) {
  recordTestResult(input: $input) { status userErrors { field code } } }"""
RESULT = {
    "updatedAt": "2021-09-02T08:00:00+07:00",
    "fullName": "Nguyễn Văn An",
    "dateOfBirth": BORN.isoformat(),
    "testType": "RT_PCR",
    "collectedAt": "2021-09-01T07:45:00+07:00",
    "collectionSite": "Điểm lấy mẫu phường Trần Phú",
    "labCode": "CDC-BG",
    "result": "POSITIVE",
    "resultedAt": "2021-09-01T20:00:00+07:00",
    "provinceCode": "24",
}


@pytest.fixture
async def lab(partners: Any, engines: Engines) -> Any:
    async with engines[Store.TESTING].begin() as testing:
        await testing.execute(
            sa.text("INSERT INTO testing.labs VALUES ('CDC-BG', 'CDC Bắc Giang', '24')")
        )
    return await partners.create("testing:write", name="CDC Bắc Giang")


async def _listening(socket: LiveSocket, given: Given, engines: Engines, phone: str) -> uuid.UUID:
    """Returns once the subscription hears: a notice published here, again until it arrives."""
    warm_up = await given.sample(phone=phone, date_of_birth=BORN)
    assert _sample_of(await _received(socket, lambda: _publish(engines, warm_up))) == warm_up
    return warm_up


async def _next_result(socket: LiveSocket, besides: uuid.UUID) -> dict[str, Any]:
    """The next event about another sample than `besides` (heard more than once, maybe)."""
    while True:
        message = await socket.receive(timeout=30)
        assert message["type"] == "next", message
        result = dict(message["payload"]["data"]["testResultUpdated"])
        if _sample_of(result) != besides:
            return result


async def test_a_result_a_lab_records_on_another_process_reaches_the_connected_citizen(
    servers: Any,
    given: Given,
    engines: Engines,
    issuer: TokenIssuer,
    live_socket: Any,
    lab: Any,
) -> None:
    first, second = servers
    citizen = await given.citizen(phone="0912000101", date_of_birth=BORN)
    result = RESULT | {
        "sourceRecordId": "XN-LIVE-1",
        "sampleCode": "S-LIVE-1",
        "phone": "0912000101",
    }
    async with live_socket(first.websocket_url) as socket:
        await _subscribed(socket, issuer.issue(citizen))
        warm_up = await _listening(socket, given, engines, "0912000101")

        async with httpx.AsyncClient(base_url=second.http_url) as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": RECORD_TEST,
                    "variables": {"input": result},
                },
                headers={"Authorization": f"Bearer {lab.token}"},
            )
        assert response.json()["data"]["recordTestResult"]["status"] == "INSERTED"

        heard = await _next_result(socket, besides=warm_up)
    assert (heard["sampleCode"], heard["result"]) == ("S-LIVE-1", "POSITIVE")


async def test_a_result_imported_by_another_process_reaches_the_connected_citizen(
    servers: Any,
    given: Given,
    engines: Engines,
    issuer: TokenIssuer,
    live_socket: Any,
    lab: Any,
    healthgraph: Any,
    tmp_path: Path,
) -> None:
    citizen = await given.citizen(phone="0912000105", date_of_birth=BORN)
    export = tmp_path / "results.csv"
    line = RESULT | {"sourceRecordId": "XN-LIVE-2", "sampleCode": "S-LIVE-2", "phone": "0912000105"}
    columns = {to_snake_case(name): value for name, value in line.items()}
    with export.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns))
        writer.writeheader()
        writer.writerow(columns)
    async with live_socket(servers[0].websocket_url) as socket:
        await _subscribed(socket, issuer.issue(citizen))
        warm_up = await _listening(socket, given, engines, "0912000105")

        code, output, errors = await healthgraph("import", "testing", str(export), "--quiet")
        assert (code, errors) == (0, ""), output
        assert output.startswith("1 inserted"), output

        heard = await _next_result(socket, besides=warm_up)
    assert (heard["sampleCode"], heard["result"]) == ("S-LIVE-2", "POSITIVE")


async def test_a_citizen_never_receives_another_citizens_result(
    servers: Any, given: Given, engines: Engines, issuer: TokenIssuer, live_socket: Any
) -> None:
    first = servers[0]
    listener = await given.citizen(phone="0912000102", date_of_birth=BORN)
    other = await given.citizen(phone="0912000103", date_of_birth=BORN)
    others_sample = await given.sample(phone="0912000103", date_of_birth=BORN)
    own_sample = await given.sample(phone="0912000102", date_of_birth=BORN)
    async with live_socket(first.websocket_url) as socket:
        await _subscribed(socket, issuer.issue(listener))

        async def others_then_own() -> None:
            await _publish(engines, others_sample)
            # A notice naming the listener but another's record is read under their
            # access rules, so it shows nothing either.
            await _publish(engines, others_sample, to=listener)
            await _publish(engines, own_sample)

        result = await _received(socket, others_then_own)
        assert _sample_of(result) == own_sample
    assert other != listener


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"token": ""},
    ],
)
async def test_a_connection_without_a_valid_citizen_token_is_closed_forbidden(
    servers: Any, payload: dict[str, Any], live_socket: Any
) -> None:
    async with live_socket(servers[0].websocket_url) as socket:
        await socket.send({"type": "connection_init", "payload": payload})
        assert (await socket.closed_with())[0] == 4403


async def test_a_partner_token_cannot_open_a_live_connection(
    servers: Any, partners: Any, live_socket: Any
) -> None:
    partner = await partners.create("citizen:read:tests")
    async with live_socket(servers[0].websocket_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": partner.token}})
        assert (await socket.closed_with())[0] == 4403


@pytest.mark.parametrize("form", ["Authorization", "token"])
async def test_a_citizen_token_in_either_form_opens_a_live_connection(
    servers: Any, given: Given, issuer: TokenIssuer, form: str, live_socket: Any
) -> None:
    token = issuer.issue(await given.citizen())
    payload = {"Authorization": f"Bearer {token}"} if form == "Authorization" else {"token": token}
    async with live_socket(servers[0].websocket_url) as socket:
        assert (await socket.init(payload))["type"] == "connection_ack"


async def test_subscribing_before_the_connection_is_acknowledged_is_unauthorized(
    servers: Any, live_socket: Any
) -> None:
    async with live_socket(servers[0].websocket_url) as socket:
        await socket.subscribe(SUBSCRIPTION)
        assert (await socket.closed_with())[0] == 4401


async def test_an_expiring_token_closes_the_socket_when_it_expires(
    servers: Any, given: Given, issuer: TokenIssuer, live_socket: Any
) -> None:
    citizen = await given.citizen()
    expires_soon = issuer.issue(citizen, now=datetime.now(UTC) - issuer.ttl + timedelta(seconds=3))
    async with live_socket(servers[0].websocket_url) as socket:
        await _subscribed(socket, expires_soon)
        code, reason = await socket.closed_with(timeout=15)
    assert (code, reason) == (4403, "token expired")


async def _session(engines: Engines, citizen: uuid.UUID) -> uuid.UUID:
    family = uuid.uuid4()
    async with engines[Store.CORE].begin() as core:
        await store_token(core, uuid.uuid4().hex * 2, citizen, family, timedelta(days=1))
    return family


async def test_signing_out_closes_the_socket(
    servers: Any, given: Given, engines: Engines, issuer: TokenIssuer, live_socket: Any
) -> None:
    citizen = await given.citizen()
    family = await _session(engines, citizen)
    async with live_socket(servers[1].websocket_url) as socket:
        await _subscribed(socket, issuer.issue(citizen, session_id=family))
        async with engines[Store.CORE].begin() as core:
            await revoke_family(core, family)
        code, reason = await socket.closed_with(timeout=15)
    assert (code, reason) == (4403, "session ended")


async def test_an_expired_token_is_refused_at_connection_init(
    servers: Any, given: Given, issuer: TokenIssuer, live_socket: Any
) -> None:
    expired = issuer.issue(await given.citizen(), now=datetime.now(UTC) - 2 * issuer.ttl)
    async with live_socket(servers[0].websocket_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": expired}})
        assert (await socket.closed_with())[0] == 4403


async def test_the_token_of_a_session_already_signed_out_closes_the_socket(
    servers: Any, given: Given, engines: Engines, issuer: TokenIssuer, live_socket: Any
) -> None:
    citizen = await given.citizen()
    family = await _session(engines, citizen)
    async with engines[Store.CORE].begin() as core:
        await revoke_family(core, family)
    async with live_socket(servers[0].websocket_url) as socket:
        await _subscribed(socket, issuer.issue(citizen, session_id=family))
        code, reason = await socket.closed_with(timeout=15)
    assert (code, reason) == (4403, "session ended")


async def test_a_live_session_keeps_its_socket_open_across_checks(
    servers: Any, given: Given, engines: Engines, issuer: TokenIssuer, live_socket: Any
) -> None:
    citizen = await given.citizen(phone="0912000104", date_of_birth=BORN)
    family = await _session(engines, citizen)
    async with live_socket(servers[1].websocket_url) as socket:
        await _subscribed(socket, issuer.issue(citizen, session_id=family))
        await asyncio.sleep(2.5)  # more than two checks, one per second in these processes
        sample_id = await given.sample(phone="0912000104", date_of_birth=BORN)
        result = await _received(socket, lambda: _publish(engines, sample_id))
    assert _sample_of(result) == sample_id
