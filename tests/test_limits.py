"""Every limit answers at the limit and refuses one past it, before any expensive work."""

import asyncio
import time

import httpx
import pytest

from api.limits import MAX_DEPTH, MAX_OPERATIONS, MAX_ROOT_FIELDS
from api.pagination import MAX_PAGE
from tests.conftest import serving


def _code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def _json_body(size: int) -> bytes:
    """A JSON request of exactly size bytes."""
    head, tail = b'{"query": "{ vaccines { code } }", "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_a_body_at_the_size_limit_is_read(client_with):
    async with client_with(max_body_bytes=4096) as client:
        response = await client.post(
            "/graphql", content=_json_body(4096), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 200
    assert response.json()["data"]["vaccines"]


async def test_a_body_one_byte_past_the_size_limit_is_413(client_with):
    async with client_with(max_body_bytes=4096) as client:
        response = await client.post(
            "/graphql", content=_json_body(4097), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert _code(response.json()) == "BAD_USER_INPUT"


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(client_with):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(1000):
            sent += 1024
            yield b"x" * 1024

    async with client_with(max_body_bytes=4096) as client:
        # No Content-Length: the body is counted as it arrives.
        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert sent < 1000 * 1024


def _fields(count: int) -> str:
    return "{ " + " ".join(["__typename"] * count) + " }"


async def test_a_document_at_the_token_limit_is_parsed(client_with):
    async with client_with(max_document_tokens=100) as client:
        # Braces count: 2 + 98 names is 100 tokens.
        body = (await client.post("/graphql", json={"query": _fields(98)})).json()

    assert "tokens" not in body["errors"][0]["message"]  # refused later, by the root-field rule


async def test_a_document_one_token_past_the_limit_is_refused_while_parsing(client_with):
    async with client_with(max_document_tokens=100) as client:
        body = (await client.post("/graphql", json={"query": _fields(99)})).json()

    assert "more than 100 tokens" in body["errors"][0]["message"]
    assert _code(body) == "BAD_USER_INPUT"


def _nested(depth: int) -> str:
    return "{ " + "a { " * depth + "id" + " }" * depth + " }"


def _messages(body: dict) -> str:
    return " ".join(e["message"] for e in body.get("errors", []))


@pytest.mark.parametrize(("depth", "refused"), [(MAX_DEPTH, False), (MAX_DEPTH + 1, True)])
async def test_depth_limit(graphql, depth, refused):
    body = await graphql.query(_nested(depth))

    # `a` is no field of ours: the document is refused either way, the depth rule only past it.
    assert ("exceeds maximum operation depth" in _messages(body)) is refused


@pytest.mark.parametrize(
    ("count", "refused"), [(MAX_ROOT_FIELDS, False), (MAX_ROOT_FIELDS + 1, True)]
)
async def test_root_field_limit(graphql, count, refused):
    fields = " ".join(f"v{n}: vaccines {{ code }}" for n in range(count))

    body = await graphql.query(f"{{ {fields} }}")

    assert ("root fields in one operation" in _messages(body)) is refused


@pytest.mark.parametrize(
    ("count", "refused"), [(MAX_OPERATIONS, False), (MAX_OPERATIONS + 1, True)]
)
async def test_operation_limit(client, count, refused):
    document = " ".join(f"query Q{n} {{ vaccines {{ code }} }}" for n in range(count))

    body = (await client.post("/graphql", json={"query": document, "operationName": "Q0"})).json()

    if refused:
        assert f"{count} operations in one document" in _messages(body)
        assert _code(body) == "BAD_USER_INPUT"
    else:
        assert body["data"]["vaccines"]


CHECK_INS = "query($first: Int) { me { checkIns(first: $first) { edges { cursor } } } }"


@pytest.mark.parametrize(("first", "refused"), [(MAX_PAGE, False), (MAX_PAGE + 1, True)])
async def test_page_size_limit(graphql, given, first, refused):
    citizen = await given.citizen()

    body = await graphql.query(CHECK_INS, {"first": first}, as_citizen=citizen)

    if refused:
        assert body["data"]["me"] is None or body["data"]["me"]["checkIns"] is None
        assert _code(body) == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["argument"] == "first"
    else:
        assert "errors" not in body


async def test_batches_are_refused(client):
    response = await client.post("/graphql", json=[{"query": "{ vaccines { code } }"}] * 2)

    assert response.status_code == 400
    assert _code(response.json()) == "BAD_USER_INPUT"


async def test_a_request_within_its_time_is_answered(client_with):
    async with client_with(request_timeout_seconds=30) as client:
        response = await client.post("/graphql", json={"query": "{ vaccines { code } }"})

    assert response.status_code == 200


async def test_a_request_past_its_time_ends_with_a_timeout_error(client_with):
    async with client_with(request_timeout_seconds=0.001) as client:
        response = await client.post("/graphql", json={"query": "{ vaccines { code } }"})

    assert response.status_code == 504
    assert _code(response.json()) == "TIMEOUT"


async def test_health_answers_while_a_maximal_refused_request_streams_in(settings, store_urls):
    """A client trickling a body far over the limit holds up nobody else."""
    from api.app import create_app

    big_done = asyncio.Event()
    health_answered_before_big: list[bool] = []

    async def trickle():
        for _ in range(200):
            yield b"x" * 8192  # 1.6 MB in all, six times the default limit
            await asyncio.sleep(0.01)

    with serving(create_app(settings, store_urls)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:

            async def big() -> int | None:
                try:
                    response = await http.post(
                        "/graphql", content=trickle(), headers={"Content-Type": "application/json"}
                    )
                    return response.status_code
                except httpx.TransportError:
                    return None  # the server answered 413 and closed before the upload ended
                finally:
                    big_done.set()

            async def health() -> None:
                await asyncio.sleep(0.05)
                response = await http.get("/healthz")
                assert response.status_code == 200
                health_answered_before_big.append(not big_done.is_set())

            big_status, _ = await asyncio.gather(big(), health())

    assert big_status in (413, None)
    assert health_answered_before_big == [True]


async def test_the_largest_accepted_document_is_refused_in_well_under_a_second(client):
    """A body just under the size limit, all aliases: refused at the token limit, while
    parsing, instead of after parsing and validating every alias."""
    alias = "a0000: __typename "
    document = "{ " + alias * (250_000 // len(alias)) + "}"
    started = time.perf_counter()

    body = (await client.post("/graphql", json={"query": document})).json()

    elapsed = time.perf_counter() - started
    assert "tokens" in body["errors"][0]["message"]
    assert elapsed < 5  # a generous bound: unlimited, this took tens of seconds


async def test_websocket_connections_pass_the_http_layer_untouched():
    """Subscriptions' WebSockets are long-lived: no body limit, no request timeout."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.websockets import WebSocket

    from api.request_limits import RequestLimits

    async def greeter(scope, receive, send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept(subprotocol="graphql-transport-ws")
        await asyncio.sleep(0.05)  # past the request timeout below
        await websocket.send_text("x" * 4096)  # past the body limit below
        await websocket.close()

    app = CORSMiddleware(RequestLimits(greeter, max_body_bytes=1024, timeout_seconds=0.01), [])
    scope = {
        "type": "websocket",
        "path": "/graphql",
        "headers": [(b"origin", b"https://elsewhere.example")],
        "query_string": b"",
        "subprotocols": ["graphql-transport-ws"],
    }
    inbox = [{"type": "websocket.connect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return inbox.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)

    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "x" * 4096


def test_a_document_at_the_cache_size_is_cached_and_one_past_it_is_not():
    from api import limits

    at = "{ __typename }" + " " * (limits.MAX_CACHED_DOCUMENT_CHARS - len("{ __typename }"))
    past = at + " "

    limits.parse_document(at, 100)
    limits.parse_document(past, 100)

    assert at in limits._parsed
    assert past not in limits._parsed


def test_the_parser_cache_is_bounded_by_the_characters_it_holds():
    from api import limits

    for n in range(limits.CACHE_CHARS // 4000 + 50):
        limits.parse_document("{ __typename }" + " " * 4000 + f"# {n}", 100)

    assert limits._parsed.currsize <= limits.CACHE_CHARS
    assert len(limits._parsed) < limits.CACHE_CHARS // 4000 + 50
