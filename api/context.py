"""The one place that builds a request's context: principal, access, loaders, stores."""

from dataclasses import dataclass

from opentelemetry.trace import Tracer
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.loaders import Access, Loaders
from api.observe import Observed, observed_in
from auth.connection import ConnectedCitizen
from auth.health_pass import PassIssuer
from auth.principal import CitizenPrincipal, PartnerPrincipal, Principal, authenticate
from auth.qr import QrSigner
from auth.revocations import Revocations
from auth.signin import SignIn
from auth.tokens import TokenIssuer
from models.config import Settings
from models.notify import Broker
from models.ratelimit import Counting, RequestCounts
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
    tracer: Tracer | None = None
    revocations: Revocations | None = None
    passes: PassIssuer | None = None
    request_counts: RequestCounts | None = None


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    principal: Principal
    services: Services
    loaders: Loaders
    observed: Observed
    # A websocket's connection_init payload (set by Strawberry) and the citizen it signed in.
    connection_params: dict[str, object] | None = None
    connected: ConnectedCitizen | None = None
    # Hits of this request still to be written before it is decided (api/rate_limits.py).
    counting: Counting | None = None

    @property
    def request_id(self) -> str:
        return self.observed.request_id


async def build_context(
    request: Request | WebSocket, response: Response | WebSocket | None, services: Services
) -> Context:
    principal = await authenticate(
        request.headers.get("authorization"),
        services.issuer,
        services.engines.reader(Store.CORE),
        services.revocations,
    )
    observed = observed_in(request.scope)
    observed.principal = _kind(principal)
    return Context(
        request=request,
        response=response,
        principal=principal,
        services=services,
        observed=observed,
        loaders=Loaders(
            services.engines,
            Access(principal, services.engines, observed.request_id),
            services.passes,
        ),
    )


def fresh_loaders(context: Context) -> Loaders:
    """Loaders with empty caches for the context's principal: a long-lived connection
    needs one per event."""
    services = context.services
    return Loaders(
        services.engines,
        Access(context.principal, services.engines, context.request_id),
        services.passes,
    )


def _kind(principal: Principal) -> str:
    if isinstance(principal, CitizenPrincipal):
        return "citizen"
    return "partner" if isinstance(principal, PartnerPrincipal) else "anonymous"
