"""The one place that builds a request's context: principal, access, loaders, stores."""

import uuid
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.loaders import Access, Loaders
from auth.connection import ConnectedCitizen
from auth.principal import Principal, authenticate
from auth.qr import QrSigner
from auth.signin import SignIn
from auth.tokens import TokenIssuer
from models.config import Settings
from models.notify import Broker
from models.stores import Engines, Store


@dataclass
class Services:
    """What lives for the whole process and every request shares."""

    engines: Engines
    issuer: TokenIssuer
    settings: Settings
    qr: QrSigner
    sign_in: SignIn | None = None
    # Fans change notices out to this process's live subscriptions.
    broker: Broker | None = None


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    principal: Principal
    services: Services
    loaders: Loaders
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # A websocket's connection_init payload (set by Strawberry) and the citizen it signed in.
    connection_params: dict[str, object] | None = None
    connected: ConnectedCitizen | None = None


async def build_context(
    request: Request | WebSocket, response: Response | WebSocket | None, services: Services
) -> Context:
    principal = await authenticate(
        request.headers.get("authorization"), services.issuer, services.engines.reader(Store.CORE)
    )
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return Context(
        request=request,
        response=response,
        principal=principal,
        services=services,
        loaders=Loaders(services.engines, Access(principal, services.engines, request_id)),
        request_id=request_id,
    )


def fresh_loaders(context: Context) -> Loaders:
    """Loaders with empty caches for the context's principal: a long-lived connection
    needs one per event."""
    services = context.services
    return Loaders(
        services.engines, Access(context.principal, services.engines, context.request_id)
    )
