"""Strawberry's ASGI integration, with our context and a fast JSON encoder."""

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.context import Context, Services, build_context


class HealthGraphQL(GraphQL[Context, None]):
    def __init__(self, **options: Any) -> None:
        from api.schema import schema

        super().__init__(schema, **options)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        # Built by the app's lifespan, shared by every request of the process.
        services: Services = request.app.state.services
        return await build_context(request, response, services)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
