"""One store down is not an outage: the others still answer, the failing field says why."""

import socket

import httpx
import pytest

from api.app import create_app
from models.stores import StoreUrls
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
