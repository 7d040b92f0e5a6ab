"""Prometheus metrics, correct across worker processes.

`healthgraph serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the
workers start: each process then writes its samples there and `/metrics`, answered
by any one of them, adds up all of them.
"""

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import Response

from models.stores import Engines, Store, StoreObserver, StoreUnavailable, is_unavailable

_SECONDS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("healthgraph_http_requests_total", "HTTP requests", ["path", "status"])
HTTP_LATENCY = Histogram(
    "healthgraph_http_request_seconds", "HTTP request latency", ["path"], buckets=_SECONDS
)
OPERATIONS = Counter(
    "healthgraph_graphql_operations_total",
    "GraphQL operations by name and outcome (ok or an error code)",
    ["operation", "outcome"],
)
OPERATION_LATENCY = Histogram(
    "healthgraph_graphql_operation_seconds",
    "GraphQL operation latency",
    ["operation"],
    buckets=_SECONDS,
)
STORE_LATENCY = Histogram(
    "healthgraph_store_read_seconds",
    "Time a request held a store connection",
    ["store"],
    buckets=_SECONDS,
)
STORE_ERRORS = Counter(
    "healthgraph_store_errors_total",
    "Store reads that failed: unavailable (did not answer in time) or error",
    ["store", "kind"],
)
POOL_IN_USE = Gauge(
    "healthgraph_store_pool_in_use",
    "Connections checked out of each store's pools",
    ["store"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "healthgraph_store_pool_size",
    "Connections each store's pools may hold",
    ["store"],
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "healthgraph_rate_limited_total", "Requests refused as RATE_LIMITED", ["operation"]
)

KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"})

# Operation names come from callers: only plausible names become labels, and only so many.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_OPERATION_NAMES = 200
_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if name is None:
        return "anonymous"
    if name in _operation_names:
        return name
    if not _NAME.fullmatch(name) or len(_operation_names) >= _MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


def observe_request(
    path: str, status: int, seconds: float, operation: str | None, outcome: str | None
) -> None:
    label = path if path in KNOWN_PATHS else "other"
    HTTP_REQUESTS.labels(label, str(status)).inc()
    HTTP_LATENCY.labels(label).observe(seconds)
    if outcome is not None:
        name = operation_label(operation)
        OPERATIONS.labels(name, outcome).inc()
        OPERATION_LATENCY.labels(name).observe(seconds)
        if outcome == "RATE_LIMITED":
            RATE_LIMITED.labels(name).inc()
    elif status == 429:
        RATE_LIMITED.labels("other").inc()


class StoreMetrics(StoreObserver):
    @contextmanager
    def read(self, store: Store) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except BaseException as error:
            unavailable = isinstance(error, StoreUnavailable) or is_unavailable(error)
            STORE_ERRORS.labels(store.value, "unavailable" if unavailable else "error").inc()
            raise
        finally:
            STORE_LATENCY.labels(store.value).observe(time.perf_counter() - started)


def watch_pools(engines: Engines) -> None:
    """Count checked-out connections through the pools' own events."""
    for store, engine in engines.items():
        in_use = POOL_IN_USE.labels(store.value)
        POOL_SIZE.labels(store.value).set(engine.pool.size())  # type: ignore[attr-defined]
        event.listen(engine.sync_engine, "checkout", lambda *_, gauge=in_use: gauge.inc())
        event.listen(engine.sync_engine, "checkin", lambda *_, gauge=in_use: gauge.dec())


def forget_process() -> None:
    """A worker that stops takes its live gauges with it."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(os.getpid())


async def metrics(request: Request) -> Response:
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
