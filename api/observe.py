"""What each request leaves behind: a request ID (also in the response), one log line,
metrics and, when tracing is on, a span.

The log line names the operation, the kind of caller, the duration and the outcome,
never the query, its variables or anything the caller typed. Client mistakes are
INFO, a store that did not answer or a refused rate is WARNING, only our own faults
are ERROR.
"""

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from api.errors import ErrorCode
from api.metrics import StoreMetrics, observe_request
from models.stores import Store

log = logging.getLogger("healthgraph.request")

# A caller's own request ID is kept when it is short and plain; anything else (too long,
# control characters, spaces) is replaced before it reaches a log line or the audit log.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

# The most severe first: a request's outcome is the worst code among its errors.
_SEVERITY = tuple(
    code.value
    for code in (
        ErrorCode.INTERNAL,
        ErrorCode.STORE_UNAVAILABLE,
        ErrorCode.TIMEOUT,
        ErrorCode.RATE_LIMITED,
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.BAD_USER_INPUT,
        ErrorCode.PERSISTED_QUERY_NOT_FOUND,
    )
)
# Refusals told by the HTTP status alone, before any GraphQL ran.
_BY_STATUS = {429: ErrorCode.RATE_LIMITED.value, 504: ErrorCode.TIMEOUT.value}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_INTERNAL = ErrorCode.INTERNAL.value
_WARNINGS = frozenset(
    {ErrorCode.STORE_UNAVAILABLE.value, ErrorCode.RATE_LIMITED.value, ErrorCode.TIMEOUT.value}
)


def request_id_from(offered: str | None) -> str:
    if offered is not None and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


@dataclass(slots=True)
class Observed:
    """Filled in while a request runs, read when it ends."""

    request_id: str
    principal: str = "anonymous"
    operation: str | None = None
    operation_type: str | None = None
    codes: set[str] = field(default_factory=set)

    def outcome(self, status: int) -> str:
        for code in _SEVERITY:
            if code in self.codes:
                return code
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        if status >= 500:
            return ErrorCode.INTERNAL.value
        return "ok" if status < 400 else ErrorCode.BAD_USER_INPUT.value


def observed_in(scope: Scope) -> Observed:
    """The request's record, made here when the request did not pass the middleware."""
    state: dict[str, Any] = scope.setdefault("state", {})
    found = state.get("observed")
    if found is None:
        found = state["observed"] = Observed(request_id_from(None))
    return found  # type: ignore[no-any-return]


def _offered_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("latin-1")
    return None


def _level(outcome: str) -> int:
    if outcome == _INTERNAL:
        return logging.ERROR
    return logging.WARNING if outcome in _WARNINGS else logging.INFO


class ObserveRequests:
    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observed = Observed(request_id_from(_offered_request_id(scope)))
        scope.setdefault("state", {})["observed"] = observed
        header = (b"x-request-id", observed.request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        started = time.perf_counter()
        with self._span(scope) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                self._record(scope, observed, status, seconds, span)

    def _span(self, scope: Scope) -> Any:
        tracer = _tracer(scope)
        if tracer is None:
            return nullcontext()
        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        return tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}", context=extract(carrier), kind=SpanKind.SERVER
        )

    def _record(
        self, scope: Scope, observed: Observed, status: int, seconds: float, span: Any
    ) -> None:
        outcome = observed.outcome(status)
        graphql = observed.operation_type is not None
        observe_request(
            scope["path"], status, seconds, observed.operation, outcome if graphql else None
        )
        if span is not None:
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("healthgraph.request_id", observed.request_id)
            span.set_attribute("healthgraph.outcome", outcome)
            if observed.operation:
                span.set_attribute("graphql.operation.name", observed.operation)
            if outcome == ErrorCode.INTERNAL.value:
                span.set_status(Status(StatusCode.ERROR))
        if self.access_log:
            _access_line(scope, observed, status, seconds, outcome)


def _access_line(
    scope: Scope, observed: Observed, status: int, seconds: float, outcome: str
) -> None:
    level = _level(outcome)
    if not log.isEnabledFor(level):
        return
    # Logger.log would also look up the calling frame, which no line shows.
    record = log.makeRecord(
        log.name,
        level,
        __file__,
        _ACCESS_LINE,
        "%s %s %s",
        (scope["method"], scope["path"], status),
        None,
        "_access_line",
        {
            "request_id": observed.request_id,
            "status": status,
            "operation": observed.operation,
            "operation_type": observed.operation_type,
            "principal": observed.principal,
            "duration_ms": round(seconds * 1000, 2),
            "outcome": outcome,
            "error_codes": sorted(observed.codes),
        },
    )
    log.handle(record)


_ACCESS_LINE = _access_line.__code__.co_firstlineno


def _tracer(scope: Scope) -> Tracer | None:
    services = getattr(scope["app"].state, "services", None)
    return getattr(services, "tracer", None)


class StoreTelemetry(StoreMetrics):
    """Store reads timed and counted, and each in its own span when tracing is on."""

    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer

    @contextmanager
    def read(self, store: Store) -> Iterator[None]:
        if self.tracer is None:
            with super().read(store):
                yield
            return
        with (
            self.tracer.start_as_current_span(
                f"{store.value} store read",
                kind=SpanKind.CLIENT,
                attributes={"db.system": "postgresql", "healthgraph.store": store.value},
            ),
            super().read(store),
        ):
            yield


class RecordOperation(SchemaExtension):
    """Tells the request's record which operation ran and which error codes it answered."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError:
            # A document that does not parse escapes the other hooks as an exception.
            self._record([None])
            raise
        except Exception:
            self._record([ErrorCode.INTERNAL.value])
            raise
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors
        self._record([(e.extensions or {}).get("code") for e in errors or ()])

    def _record(self, codes: list[str | None]) -> None:
        observed: Observed | None = getattr(self.execution_context.context, "observed", None)
        if observed is None:
            return
        name = self.execution_context.operation_name
        # A name the document does not hold may be anything: only a plain name is kept.
        observed.operation = name if name is not None and _NAME.fullmatch(name) else None
        try:
            observed.operation_type = self.execution_context.operation_type.value
        except Exception:  # a document that did not parse, or without that operation
            observed.operation_type = "unknown"
        # Only a document that did not parse comes back without a code.
        observed.codes.update(
            str(code) if code else ErrorCode.BAD_USER_INPUT.value for code in codes
        )
