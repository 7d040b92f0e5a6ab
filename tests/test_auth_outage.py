"""Sign-in and partner tokens need the core store; when it is down, callers are told so."""

import socket

import httpx
import pytest

from api.app import create_app
from models.stores import StoreUrls


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def core_store_down(settings, store_urls, engines):
    urls = StoreUrls(
        core=f"postgresql://postgres@127.0.0.1:{_closed_port()}/core",
        immunization=store_urls.immunization,
        testing=store_urls.testing,
    )
    app = create_app(settings, urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hg") as http:
            yield http


async def test_sign_in_says_the_core_store_is_unavailable(core_store_down):
    response = await core_store_down.post(
        "/graphql",
        json={"query": 'mutation { requestOtp(phone: "0912345678") { challenge { id } } }'},
    )

    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "STORE_UNAVAILABLE", "store": "core"}


async def test_a_partner_token_that_cannot_be_checked_is_not_called_invalid(
    core_store_down, partners
):
    partner = await partners.create("citizen:read:vaccinations")

    response = await core_store_down.post(
        "/graphql",
        json={"query": '{ citizen(id: "x") { id } }'},
        headers={"authorization": f"Bearer {partner.token}"},
    )

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
