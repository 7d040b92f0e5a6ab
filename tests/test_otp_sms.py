"""Sign-in codes go out through an SMS gateway over HTTP, or to an outbox file for local use."""

import asyncio
import base64
import logging
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from auth.keys import KeyPurpose, load_keys
from auth.sms import (
    DeliveryFailed,
    HttpSmsSender,
    MisconfiguredSignIn,
    OutboxSender,
    outbox_path,
    sender_from_settings,
)
from models.config import Environment


@dataclass
class Gateway:
    """A real HTTP server on 127.0.0.1 standing in for the SMS provider."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = Gateway(url=f"http://127.0.0.1:{port}/sms")

    async def sms(request: Request) -> JSONResponse:
        state.received.append(
            {"json": await request.json(), "authorization": request.headers.get("authorization")}
        )
        return JSONResponse({"queued": True}, status_code=state.status)

    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/sms", sms, methods=["POST"])]), log_level="error")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield state
    server.should_exit = True
    await task
    sock.close()


async def test_the_gateway_receives_the_code_for_the_international_number(gateway):
    sender = HttpSmsSender(gateway.url, username="healthgraph", password="s3cret")

    await sender.send("0912345678", "042917")

    [received] = gateway.received
    assert received["json"]["to"] == "+84912345678"
    assert "042917" in received["json"]["text"]
    expected = base64.b64encode(b"healthgraph:s3cret").decode()
    assert received["authorization"] == f"Basic {expected}"


async def test_a_bearer_token_can_stand_in_for_a_password(gateway):
    sender = HttpSmsSender(gateway.url, token="gw-token", sender_name="BOYTE")

    await sender.send("0912345678", "042917")

    [received] = gateway.received
    assert received["authorization"] == "Bearer gw-token"
    assert received["json"]["from"] == "BOYTE"


async def test_a_gateway_error_is_a_delivery_failure(gateway):
    gateway.status = 503
    sender = HttpSmsSender(gateway.url, token="gw-token")

    with pytest.raises(DeliveryFailed, match="503"):
        await sender.send("0912345678", "042917")


async def test_an_unreachable_gateway_is_a_delivery_failure():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    sender = HttpSmsSender(f"http://127.0.0.1:{port}/sms", token="t", timeout=1)

    with pytest.raises(DeliveryFailed, match="unreachable"):
        await sender.send("0912345678", "042917")


async def test_without_a_gateway_the_code_goes_to_the_outbox_file_not_the_log(settings, caplog):
    caplog.set_level(logging.DEBUG)
    sender = sender_from_settings(settings)

    await sender.send("0912345678", "042917")

    assert isinstance(sender, OutboxSender)
    assert (
        "0912345678: Ma xac thuc healthgraph cua ban la 042917" in outbox_path(settings).read_text()
    )
    assert (outbox_path(settings).stat().st_mode & 0o777) == 0o600
    assert "042917" not in caplog.text


async def test_production_without_a_gateway_refuses_to_start(settings, issuer, store_urls):
    production = settings.model_copy(
        update={"env": Environment.PRODUCTION, "otp_secret": SecretStr("s" * 32)}
    )
    app = create_app(production, store_urls)

    with pytest.raises(MisconfiguredSignIn, match="HEALTHGRAPH_SMS_GATEWAY_URL"):
        async with app.router.lifespan_context(app):
            pass


async def test_production_with_a_gateway_starts(settings, issuer, store_urls, gateway, tmp_path):
    # Production never makes signing keys: they are provisioned, as here.
    load_keys(tmp_path, create=True, purpose=KeyPurpose.PASS)
    production = settings.model_copy(
        update={
            "env": Environment.PRODUCTION,
            "otp_secret": SecretStr("s" * 32),
            "qr_secret": SecretStr("q" * 32),
            "pass_keys_dir": tmp_path,
            "sms_gateway_url": gateway.url,
        }
    )
    app = create_app(production, store_urls)

    async with app.router.lifespan_context(app):
        assert app.state.services.sign_in is not None


async def test_a_configured_gateway_is_used(settings, gateway):
    configured = settings.model_copy(
        update={"sms_gateway_url": gateway.url, "sms_gateway_username": "hg"}
    )

    sender = sender_from_settings(configured)

    assert isinstance(sender, HttpSmsSender)
    await sender.send("0912345678", "042917")
    assert len(gateway.received) == 1


REQUEST = 'mutation { requestOtp(phone: "0912345678") { challenge { id } userErrors { code } } }'
VERIFY = """mutation($id: ID!, $code: String!) { verifyOtp(challengeId: $id, code: $code) {
  session { accessToken } userErrors { code } } }"""


async def test_a_citizen_signs_in_with_the_code_the_gateway_delivered(app_process, gateway):
    async with app_process(
        sms_gateway_url=gateway.url, sms_gateway_token=SecretStr("t")
    ) as graphql:
        challenge = (await graphql.query(REQUEST))["data"]["requestOtp"]["challenge"]
        code = re.search(r"\b\d{6}\b", gateway.received[0]["json"]["text"]).group()
        signed_in = await graphql.query(VERIFY, {"id": challenge["id"], "code": code})

    assert signed_in["data"]["verifyOtp"]["session"]["accessToken"]


async def test_a_failed_delivery_is_a_user_error(app_process, gateway):
    gateway.status = 500
    async with app_process(
        sms_gateway_url=gateway.url, sms_gateway_token=SecretStr("t")
    ) as graphql:
        body = await graphql.query(REQUEST)

    assert body["data"]["requestOtp"] == {
        "challenge": None,
        "userErrors": [{"code": "DELIVERY_FAILED"}],
    }
