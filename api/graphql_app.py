"""Strawberry's ASGI integration, made to follow GraphQL over HTTP.

Every refusal is a JSON GraphQL body with `extensions.code` (see api/graphql_http.py);
before a document is parsed, the caller's rate limits are counted (by a compiled
plan's own statement when one answers) and an automatic persisted query is resolved
to its text.
"""

from collections.abc import Mapping
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from api import graphiql
from api.context import Context, Services, build_context
from api.errors import ErrorCode
from api.graphql_http import (
    JSON,
    RequestError,
    TransportError,
    error_response,
    is_request_error,
    request_error_status,
    response_media_type,
)
from api.live import accept_connection
from api.persisted_queries import register, resolve_query
from api.plans import PlannedSchema, Plans
from api.rate_limits import count_request, settle_count


class _TextWebSocket(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; nothing is sent on a closed socket
    (a live connection closes itself when its token ends)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        await self.ws.send_text(orjson.dumps(message).decode())


class HealthGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = _TextWebSocket  # type: ignore[assignment]

    def __init__(self, **options: Any) -> None:
        from api.schema import schema

        super().__init__(schema, **options)

    @property
    def plans(self) -> Plans:
        return cast(PlannedSchema, self.schema).plans

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self._planned(request) or await self.run(request)
        except TransportError as error:
            response = error_response(scope, error)
        except HTTPException as error:
            allow = {"allow": "GET, POST"} if error.status_code == 405 else {}
            response = error_response(
                scope,
                TransportError(
                    error.status_code, ErrorCode.BAD_USER_INPUT, error.reason, headers=allow
                ),
            )
        await response(scope, receive, send)

    async def _planned(self, request: Request) -> Response | None:
        """A compiled plan's answer to a plain POST of a document it knows, given without
        the generic view's layers; None when the request is anything else, or the plan
        cannot answer it, and the view answers it as always (counted once, the body
        read once). What a plain POST is: JSON content, a body of `query`, perhaps
        `operationName` (the plan's own) and empty `variables` and `extensions`, and no
        allow-list of documents to check it against."""
        services: Services = request.app.state.services
        if request.method != "POST" or services.settings.persisted_queries_only:
            return None
        declared = request.headers.get("content-type", "")
        # What nearly every client sends, without the general parser (email.message's).
        if declared != JSON and parse_content_type(declared)[0] != JSON:
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if type(body) is not dict or not body.keys() <= _PLAIN_REQUEST:
            return None
        query = body.get("query")
        plan = self.plans.known(query) if type(query) is str else None
        if (
            plan is None
            or body.get("operationName") not in (None, plan.operation_name)
            or body.get("variables") not in (None, {})
            or body.get("extensions") not in (None, {})
        ):
            return None
        context = await build_context(request, None, services)
        await count_request(context, plan_may_write=True)
        data = await plan.answer(context)
        await settle_count(context)
        if data is None:
            request.state.counted = True
            return None
        media_type = response_media_type(request.headers.get("accept"))
        return Response(self.encode_json({"data": data}), media_type=media_type)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        # Built by the app's lifespan, shared by every request of the process.
        services: Services = request.app.state.services
        return await build_context(request, response, services)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        if request.method == "GET":
            return _request_data(self.parse_query_params(request.query_params))
        content_type, _ = parse_content_type(request.content_type or "")
        if content_type != "application/json":
            # Also what keeps a cross-site form from posting a query without a preflight.
            raise TransportError(
                415, ErrorCode.BAD_USER_INPUT, "send the request as Content-Type: application/json"
            )
        body = self.parse_json(await request.get_body())
        if isinstance(body, list):
            raise TransportError(
                400, ErrorCode.BAD_USER_INPUT, "batched requests are not supported"
            )
        return _request_data(body)

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # A document with a compiled plan is counted by the plan's own statement.
        query = request_data.query
        if not getattr(request.state, "counted", False):
            await count_request(
                context, plan_may_write=query is not None and self.plans.known(query) is not None
            )
        try:
            resolved = await resolve_query(context, query, request_data.extensions)
        except Exception:
            await settle_count(context)
            raise
        result = await self._execute(request_adapter, context, resolved.query, request_data)
        if resolved.register and resolved.query is not None and not _never_ran(result):
            await register(context, resolved.query)
        return result

    async def _execute(
        self,
        request_adapter: AsyncHTTPRequestAdapter,
        context: Context,
        query: str | None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        allowed = OperationType.from_http(request_adapter.method)
        try:
            return await self.schema.execute(
                query,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            raise TransportError(
                405,
                ErrorCode.BAD_USER_INPUT,
                f"{error.operation_type.value}s are only accepted over POST",
                headers={"allow": "POST"},
            ) from error
        except CannotGetOperationTypeError as error:
            raise RequestError(ErrorCode.BAD_USER_INPUT, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise RequestError(
                ErrorCode.BAD_USER_INPUT, "no GraphQL query in the request"
            ) from error

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        body: dict[str, Any] = dict(await super().process_result(request, result))
        if is_request_error(body):
            # Execution never started: the answer has no data entry at all.
            del body["data"]
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = media_type
        if isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = request_error_status(media_type)
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # create_response sees only the sub-response: it carries the negotiated media type.
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        accept_connection(context)
        return await super().on_ws_connect(context)


# The members of a request body a compiled plan may answer without the generic view.
_PLAIN_REQUEST = frozenset({"query", "operationName", "variables", "extensions"})


def _never_ran(result: ExecutionResult) -> bool:
    errors = result.errors or []
    return result.data is None and bool(errors) and all(not e.path for e in errors)


def _invalid(message: str) -> TransportError:
    return TransportError(400, ErrorCode.BAD_USER_INPUT, message)


def _request_data(body: object) -> GraphQLRequestData:
    """The GraphQL-over-HTTP request parameters, each checked for its type."""
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object")
    query = body.get("query")
    if not isinstance(query, str | None):
        raise _invalid("`query` must be a string")
    operation_name = body.get("operationName")
    if not isinstance(operation_name, str | None):
        raise _invalid("`operationName` must be a string or null")
    variables = body.get("variables")
    if not isinstance(variables, dict | None):
        raise _invalid("`variables` must be an object or null")
    extensions = body.get("extensions")
    if not isinstance(extensions, dict | None):
        raise _invalid("`extensions` must be an object or null")
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )
