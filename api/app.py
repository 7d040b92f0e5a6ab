"""The Starlette application: GraphQL, health, readiness, metrics and JWKS."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.context import Services
from api.graphiql import GraphiQLAssets
from api.graphql_app import HealthGraphQL
from api.metrics import forget_process, metrics, watch_pools
from api.observe import ObserveRequests, StoreTelemetry
from api.personal_card import personal_qr_print
from api.request_limits import RequestLimits
from api.retention import keeping_partitions_current
from api.tracing import tracer_of, tracer_provider
from api.venue import venue_qr_svg
from auth.health_pass import PassIssuer
from auth.qr import QrSigner
from auth.revocations import Revocations
from auth.signin import SignIn
from auth.sms import sign_in_settings_check
from auth.tokens import TokenIssuer
from models.checkin import ensure_partitions
from models.config import Settings, get_settings
from models.migration import StoreNotMigrated, check_migrated
from models.notify import Broker
from models.ratelimit import RequestCounts
from models.retention import months_needed
from models.stores import Engines, Store, StoreUrls, is_unavailable, redact, resolve_urls

log = logging.getLogger("healthgraph")


async def _check_store(engines: Engines, store: Store, settings: Settings) -> None:
    """Refuse to serve an unmigrated store; a store that is down only gets a warning."""
    try:
        async with engines[store].begin() as connection:
            await check_migrated(store, connection)
            if store is Store.CORE:
                months = months_needed(datetime.now(UTC), settings.check_in_retention_days)
                await ensure_partitions(connection, months)
    except StoreNotMigrated:
        raise
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning(
            "the %s store is unreachable at start-up (%s)", store.value, redact(engines.urls[store])
        )


async def _last_counts(counts: RequestCounts) -> None:
    """The hits counted since the last write, written on the way out."""
    try:
        await counts.flush()
    except Exception as error:
        log.warning("request counts not written: %s", error.__class__.__name__)


async def check_stores(engines: Engines, settings: Settings) -> None:
    await asyncio.gather(*(_check_store(engines, store, settings) for store in Store))


READINESS_TIMEOUT = 2.0

_frozen: list[bool] = []


def _freeze_start_up() -> None:
    """What start-up made (the schema, its types and resolvers, the keys) lives as long as
    the process: kept out of the garbage collector's full passes, which otherwise walk
    some 180,000 objects and stop every request for a few hundred milliseconds on a
    loaded machine. Once per process (a test process starts many apps)."""
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen.append(True)


async def _store_state(engines: Engines, store: Store) -> str:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            await engines.ping(store)
    except Exception as error:
        log.warning("readiness: %s store down: %s", store.value, error.__class__.__name__)
        return "unavailable"
    return "ok"


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    engines: Engines = request.app.state.services.engines
    states = await asyncio.gather(*(_store_state(engines, store) for store in Store))
    stores = dict(zip((store.value for store in Store), states, strict=True))
    ready = all(state == "ok" for state in states)
    return JSONResponse(
        {"status": "ready" if ready else "degraded", "stores": stores},
        status_code=200 if ready else 503,
    )


async def jwks(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    keys = services.issuer.ring.jwks() + (services.passes.ring.jwks() if services.passes else [])
    return JSONResponse({"keys": keys}, headers={"cache-control": "public, max-age=300"})


async def revoked_passes(request: Request) -> Response:
    """The signed list of revoked passes that have not expired, for offline scanners."""
    services: Services = request.app.state.services
    assert services.passes is not None
    async with services.engines.reader(Store.CORE).connect() as core:
        token, etag, max_age = await services.passes.revoked_list(core, datetime.now(UTC))
    headers = {"cache-control": f"public, max-age={max_age}", "etag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(token, media_type="application/jwt", headers=headers)


def _middleware(settings: Settings) -> list[Middleware]:
    # Outermost, so that every request, a refused one too, is logged and counted.
    middleware = [Middleware(ObserveRequests, access_log=settings.access_log)]
    if settings.trusted_proxies:
        # X-Forwarded-For is believed only from the proxies listed in the settings.
        middleware.append(
            Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
        )
    return [
        *middleware,
        # Outside the limits, so that a browser can read a refusal too.
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["retry-after", "x-request-id"],
            max_age=600,
        ),
        Middleware(
            RequestLimits,
            max_body_bytes=settings.max_body_bytes,
            timeout_seconds=settings.request_timeout_seconds,
        ),
    ]


def create_app(
    settings: Settings | None = None,
    urls: StoreUrls | None = None,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """`span_exporter` turns tracing on with that exporter, whatever the settings say."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sign_in_settings_check(settings)
        provider = tracer_provider(settings, span_exporter)
        tracer = tracer_of(provider)
        if settings.serves_graphiql and not settings.graphiql_assets_dir.is_dir():
            log.warning("GraphiQL's assets are not installed: run `npm ci` in graphiql/")
        engines = Engines(urls or resolve_urls(settings), settings)
        broker = Broker(engines.urls[Store.CORE], connect_timeout=settings.store_connect_timeout)
        engines.observer = StoreTelemetry(tracer)
        watch_pools(engines)
        try:
            await check_stores(engines, settings)
            issuer = TokenIssuer.from_settings(settings)
            revocations = Revocations(
                engines.reader(Store.CORE), issuer.ttl, settings.revocation_refresh_seconds
            )
            await revocations.refresh()
            services = Services(
                engines=engines,
                issuer=issuer,
                settings=settings,
                qr=QrSigner.from_settings(settings),
                sign_in=SignIn.from_settings(engines[Store.CORE], issuer, settings),
                broker=broker,
                tracer=tracer,
                revocations=revocations,
                passes=PassIssuer.from_settings(settings),
                request_counts=RequestCounts(
                    engines,
                    timedelta(seconds=settings.rate_limit_window_seconds),
                    settings.rate_limit_flush_seconds,
                ),
            )
            app.state.services = services
            _freeze_start_up()
            refreshing = asyncio.create_task(revocations.keep_fresh())
            assert services.request_counts is not None
            counting = asyncio.create_task(services.request_counts.keep_flushing())
            try:
                async with keeping_partitions_current(engines[Store.CORE], settings):
                    yield
            finally:
                refreshing.cancel()
                counting.cancel()
                await _last_counts(services.request_counts)
        finally:
            await broker.close()
            await engines.dispose()
            if provider is not None:
                provider.shutdown()
            forget_process()

    graphql = HealthGraphQL(graphql_ide="graphiql" if settings.serves_graphiql else None)
    graphiql = (
        [Mount("/graphiql", app=GraphiQLAssets(settings.graphiql_assets_dir))]
        if settings.serves_graphiql
        else []
    )
    return Starlette(
        routes=[
            # Every method reaches the view, which answers the others 405 in JSON.
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/.well-known/jwks.json", jwks),
            *graphiql,
            Route("/venues/{code}/qr.svg", venue_qr_svg),
            Route("/citizens/personal-qr.{format}", personal_qr_print),
            Route("/.well-known/revoked-passes", revoked_passes),
        ],
        middleware=_middleware(settings),
        lifespan=lifespan,
    )
