"""GraphQL over HTTP: which media type an answer uses, and what status it carries.

A client that accepts `application/graphql-response+json` gets it, with 400 for a
request that never reached execution (unparsable, invalid, malformed parameters)
and 200 once execution started; any other client gets `application/json` and 200
for every well-formed GraphQL answer. Transport errors (bad JSON, wrong content
type, a body too large, …) are JSON error bodies with `extensions.code` in both.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from api.errors import ErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client lists it, else JSON
    (also for a missing Accept header or `*/*`, as the specification asks)."""
    if accept and GRAPHQL_RESPONSE_JSON in accept:
        for part in accept.split(","):
            media, _, params = part.strip().partition(";")
            if media.strip() == GRAPHQL_RESPONSE_JSON and "q=0" not in params.replace(" ", ""):
                return GRAPHQL_RESPONSE_JSON
    return JSON


def is_request_error(body: Mapping[str, Any]) -> bool:
    """True when execution never started: no data, and no error tied to a field path."""
    errors = body.get("errors") or []
    return body.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)


def request_error_status(media_type: str) -> int:
    return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200


class TransportError(Exception):
    """The request is refused before GraphQL sees it, with this HTTP status."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = extensions


class RequestError(TransportError):
    """A GraphQL request error found before execution: 200 in `application/json`,
    400 in `application/graphql-response+json`."""

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(200, code, message, **extensions)


def error_body(code: ErrorCode, message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code.value, **extensions}}]}


def error_response(scope: Scope, error: TransportError) -> Response:
    """A refused request as a GraphQL response body, in the media type the client accepts."""
    media_type = response_media_type(Headers(scope=scope).get("accept"))
    status = request_error_status(media_type) if isinstance(error, RequestError) else error.status
    return Response(
        orjson.dumps(error_body(error.code, error.message, **error.extensions)),
        status_code=status,
        media_type=media_type,
        headers=error.headers,
    )
