"""Limits on an HTTP request as a whole, applied before the app sees it.

The body is counted as it streams in and refused (413) the moment it passes the
limit, so an oversized upload is never held in memory; a request that runs past
its time without having started its answer is ended with a clean error (504).
WebSocket connections pass through untouched.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorCode
from api.graphql_http import TransportError, error_response


class _BodyTooLarge(Exception):
    pass


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_body_bytes:
            await self._refuse_body(scope, receive, send)
            return
        try:
            body: bytes | None = await self._read_body(receive)
        except _BodyTooLarge:
            await self._refuse_body(scope, receive, send)
            return

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()
            message: Message = {"type": "http.request", "body": body, "more_body": False}
            body = None
            return message

        deadline = asyncio.timeout(self.timeout_seconds)

        async def send_started(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Once the answer has started, a large one may take its time.
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, replay, send_started)
        except TimeoutError:
            if not deadline.expired():
                raise
            await self._refuse_slow(scope, receive, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            scope,
            TransportError(
                504,
                ErrorCode.TIMEOUT,
                f"the request took longer than {self.timeout_seconds:g} s",
            ),
        )
        await response(scope, receive, send)

    async def _refuse_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            scope,
            TransportError(
                413,
                ErrorCode.BAD_USER_INPUT,
                f"the request body is larger than {self.max_body_bytes} bytes",
                headers={"connection": "close"},
            ),
        )
        await response(scope, receive, send)
