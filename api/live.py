"""Live updates over the graphql-transport-ws protocol at /graphql.

The citizen's access token comes in the `connection_init` payload
(`{"Authorization": "Bearer <token>"}` or `{"token": "<token>"}`); a missing,
invalid, expired or partner token closes the socket with 4403 (Forbidden).
While the socket is open the token is checked again on every event and at
least every `HEALTHGRAPH_LIVE_CHECK_SECONDS` (and at its expiry): once it has
expired or its session has ended, the socket is closed with 4403 too, and the
app signs in again or refreshes and reconnects.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

import strawberry
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError

from api.context import Context, fresh_loaders
from api.errors import ApiError, ErrorCode
from api.loaders import Loaders
from auth.connection import ConnectedCitizen, ConnectionRefused, connect, still_allowed
from models.notify import Channel, Inbox, ListenerUnavailable, Notice
from models.stores import Store, StoreUnavailable

log = logging.getLogger("healthgraph.live")

# graphql-transport-ws: "the user is not allowed" (4401 means subscribing before the ack).
CLOSE_FORBIDDEN = 4403


def accept_connection(context: Context) -> None:
    """Sign the connection in from its connection_init payload, or refuse it (4403)."""
    try:
        connected = connect(context.connection_params or {}, context.services.issuer)
    except ConnectionRefused as refusal:
        log.info("live connection refused: %s", refusal)
        raise ConnectionRejectionError() from refusal
    context.connected = connected
    context.principal = connected.principal
    context.loaders = fresh_loaders(context)


async def _close(context: Context, reason: str) -> None:
    socket = context.request
    if isinstance(socket, WebSocket) and socket.application_state != WebSocketState.DISCONNECTED:
        await socket.close(code=CLOSE_FORBIDDEN, reason=reason)


async def _check(context: Context, connected: ConnectedCitizen) -> bool:
    """Whether the connection may go on; if not, it is closed."""
    try:
        await still_allowed(connected, context.services.engines.reader(Store.CORE))
    except ConnectionRefused as refusal:
        log.info("live connection closed: %s", refusal)
        await _close(context, str(refusal))
        return False
    return True


async def notices(info: strawberry.Info, channel: Channel) -> AsyncIterator[tuple[Notice, Loaders]]:
    """The signed-in citizen's notices on the channel, each with loaders made for it
    (rows read for one event are never served from an earlier one's cache)."""
    context: Context = info.context
    connected = context.connected
    broker = context.services.broker
    if connected is None or broker is None:
        raise ApiError(ErrorCode.UNAUTHENTICATED, "live updates need a signed-in websocket")
    try:
        async with broker.subscribe(channel, connected.citizen_id) as inbox:
            while True:
                notice = await _next(inbox, connected, context.services.settings.live_check_seconds)
                if not await _check(context, connected):
                    return
                if notice is not None:
                    yield notice, fresh_loaders(context)
    except ListenerUnavailable as error:
        raise StoreUnavailable(Store.CORE) from error


async def _next(inbox: Inbox, connected: ConnectedCitizen, interval: float) -> Notice | None:
    """The next notice, or None when it is time to check the token again."""
    try:
        return await asyncio.wait_for(
            inbox.get(), timeout=max(0.0, min(interval, connected.seconds_left()))
        )
    except TimeoutError:
        return None
