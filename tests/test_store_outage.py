"""One store down is not an outage: the others still answer, the failing field says why."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import sqlalchemy as sa

from api.app import READINESS_TIMEOUT, create_app
from models.config import Settings
from models.stores import Store, StoreUrls
from models.venue import VenueKind

DASHBOARD = """
{ me { fullName
  vaccinations { vaccine { code } }
  testResults { edges { node { result } } }
  checkIns { edges { node { venue { kind } } } } } }
"""


def _closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def testing_store_down(settings, store_urls, engines, issuer):
    unreachable = f"postgresql://postgres@127.0.0.1:{_closed_port()}/testing"
    urls = StoreUrls(
        core=store_urls.core, immunization=store_urls.immunization, testing=unreachable
    )
    app = create_app(settings, urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://healthgraph") as http:
            yield http


async def test_dashboard_keeps_the_other_stores_when_the_testing_store_is_down(
    testing_store_down, given, issuer
):
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(citizen, await given.venue(VenueKind.WORKER_BUS), 2)

    response = await testing_store_down.post(
        "/graphql",
        json={"query": DASHBOARD},
        headers={"Authorization": f"Bearer {issuer.issue(citizen)}"},
    )

    body = response.json()
    me = body["data"]["me"]
    assert me["vaccinations"] == [{"vaccine": {"code": "AZD1222"}}]
    assert len(me["checkIns"]["edges"]) == 2
    assert me["testResults"] is None
    [error] = body["errors"]
    assert error["path"] == ["me", "testResults"]
    assert error["extensions"] == {"code": "STORE_UNAVAILABLE", "store": "testing"}


async def test_the_health_pass_names_the_store_that_is_down(testing_store_down, given, issuer):
    citizen = await given.citizen(national_id="024090001234")
    await given.sample(national_id="024090001234")

    response = await testing_store_down.post(
        "/graphql",
        json={"query": "{ me { fullName healthPass { colour } } }"},
        headers={"Authorization": f"Bearer {issuer.issue(citizen)}"},
    )

    body = response.json()
    assert body["data"]["me"] == {"fullName": "Nguyễn Văn An", "healthPass": None}
    [error] = body["errors"]
    assert error["path"] == ["me", "healthPass"]
    assert error["extensions"] == {"code": "STORE_UNAVAILABLE", "store": "testing"}


async def test_dashboard_has_no_errors_when_every_store_answers(graphql, given):
    citizen = await given.citizen(national_id="024090001234")
    await given.sample(national_id="024090001234")

    body = await graphql.query(DASHBOARD, as_citizen=citizen)

    assert "errors" not in body
    assert body["data"]["me"]["testResults"]["edges"] == [{"node": {"result": "NEGATIVE"}}]


async def test_readiness_names_the_store_that_is_down(testing_store_down):
    response = await testing_store_down.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "stores": {"core": "ok", "immunization": "ok", "testing": "unavailable"},
    }


async def test_readiness_is_ready_when_every_store_answers(client):
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["stores"] == {"core": "ok", "immunization": "ok", "testing": "ok"}


@pytest.fixture
async def stalled_port() -> AsyncIterator[int]:
    """A TCP listener that accepts connections and never answers: a store that hangs
    instead of refusing."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


@asynccontextmanager
async def serving(settings: Settings, urls: StoreUrls) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://healthgraph") as http:
            yield http


async def _dashboard_of_a_citizen_with_everything(given, issuer) -> dict[str, str]:
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(citizen, await given.venue(VenueKind.MARKET), 2)
    return {"Authorization": f"Bearer {issuer.issue(citizen)}"}


async def test_a_stalled_store_delays_only_its_own_fields_by_the_read_timeout(
    settings, store_urls, engines, given, issuer, stalled_port
):
    # Connecting would wait 3 s; one read of a store is allowed 0.5 s.
    bounded = settings.model_copy(update={"store_connect_timeout": 3, "store_read_timeout": 0.5})
    stalled = f"postgresql://postgres@127.0.0.1:{stalled_port}/immunization"
    urls = StoreUrls(core=store_urls.core, immunization=stalled, testing=store_urls.testing)
    headers = await _dashboard_of_a_citizen_with_everything(given, issuer)

    async with serving(bounded, urls) as http:
        started = time.monotonic()
        body = (await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)).json()
        elapsed = time.monotonic() - started

    me = body["data"]["me"]
    assert me["vaccinations"] is None
    assert me["testResults"]["edges"] == [{"node": {"result": "NEGATIVE"}}]
    assert len(me["checkIns"]["edges"]) == 2
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "STORE_UNAVAILABLE", "store": "immunization"}
    ]
    assert elapsed < 2.5  # bounded by the read timeout, not the 3 s connect timeout


async def test_readiness_answers_within_its_limit_when_a_store_hangs(
    settings, store_urls, stalled_port
):
    # Both longer than readiness allows itself (start-up waits for the connect timeout).
    slow = settings.model_copy(update={"store_connect_timeout": 4, "store_read_timeout": 4})
    stalled = f"postgresql://postgres@127.0.0.1:{stalled_port}/testing"
    urls = StoreUrls(core=store_urls.core, immunization=store_urls.immunization, testing=stalled)
    async with serving(slow, urls) as http:
        started = time.monotonic()
        response = await http.get("/readyz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["stores"]["testing"] == "unavailable"
    assert elapsed < READINESS_TIMEOUT + 1.5


async def test_a_statement_cancelled_by_the_statement_timeout_is_store_unavailable(
    settings, store_urls, engines, given, issuer
):
    quick = settings.model_copy(update={"store_statement_timeout": 0.3})
    headers = await _dashboard_of_a_citizen_with_everything(given, issuer)

    async with serving(quick, store_urls) as http, engines[Store.IMMUNIZATION].begin() as lock:
        # Another session holds the table: the read waits until statement_timeout cancels it.
        await lock.execute(sa.text("LOCK TABLE immunization.vaccination_records"))
        body = (await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)).json()

    me = body["data"]["me"]
    assert me["vaccinations"] is None
    assert len(me["checkIns"]["edges"]) == 2
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "STORE_UNAVAILABLE", "store": "immunization"}
    ]
