"""Every error a caller can see, by its `extensions.code`.

UNAUTHENTICATED    no credentials, or credentials that cannot be trusted
FORBIDDEN          authenticated, but not allowed to see or do this
BAD_USER_INPUT     the request itself is wrong (syntax, arguments, cursor)
NOT_FOUND          nothing the caller may see has that ID
RATE_LIMITED       too many attempts; extensions.retryAfter says when to retry
STORE_UNAVAILABLE  one store did not answer; extensions.store says which
TIMEOUT            the request ran longer than the server allows
PERSISTED_QUERY_NOT_FOUND  the hash of an automatic persisted query is not registered:
                   send it again with the query (Apollo's protocol)
INTERNAL           anything else; the message is masked, details are logged under
                   extensions.requestId
"""

import logging
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.relay.types import GlobalIDValueError

from auth.permissions import NOT_ALLOWED
from models.config import Environment
from models.stores import StoreUnavailable, sqlstate

_SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)
# Text that PostgreSQL cannot store (a NUL character): it came from the caller.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})

log = logging.getLogger("healthgraph.errors")


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    INTERNAL = "INTERNAL"


class ApiError(GraphQLError):
    """An error the caller is meant to read."""

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})


class BadUserInput(ApiError):
    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(ErrorCode.BAD_USER_INPUT, message, **extensions)


def not_visible() -> ApiError:
    """The one refusal for a citizen the caller may not see, or that does not exist:
    telling the two apart would let IDs be probed."""
    return ApiError(ErrorCode.FORBIDDEN, NOT_ALLOWED)


def _code_of(error: GraphQLError) -> str | None:
    for candidate in (error, error.original_error):
        extensions = getattr(candidate, "extensions", None)
        if extensions and extensions.get("code") in ErrorCode.__members__:
            return str(extensions["code"])
    return None


def _unstorable_text(error: Exception | None) -> bool:
    return error is not None and sqlstate(error) in _UNSTORABLE_TEXT


class PublicErrors(MaskErrors):
    """Keeps coded errors, marks request errors BAD_USER_INPUT, masks the rest as INTERNAL."""

    def __init__(self) -> None:
        super().__init__(error_message="Internal error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        public = list(self._public(errors))
        if self._in_production():
            for error in public:
                # "Did you mean ...?" would spell out the schema to a caller who may not
                # introspect it.
                error.message = _SUGGESTION.sub("", error.message)
        return public

    def _in_production(self) -> bool:
        services = getattr(self.execution_context.context, "services", None)
        settings = getattr(services, "settings", None)
        return getattr(settings, "env", None) is Environment.PRODUCTION

    def _public(self, errors: list[GraphQLError]) -> Iterator[GraphQLError]:
        for error in errors:
            code = _code_of(error)
            if code is not None:
                if not error.extensions or "code" not in error.extensions:
                    error.extensions = {**(error.extensions or {}), "code": code}
                yield error
            elif isinstance(error.original_error, StoreUnavailable):
                yield GraphQLError(
                    str(error.original_error),
                    nodes=error.nodes,
                    path=error.path,
                    extensions={
                        "code": ErrorCode.STORE_UNAVAILABLE.value,
                        "store": error.original_error.store.value,
                    },
                )
            elif _unstorable_text(error.original_error):
                yield GraphQLError(
                    "text may not contain a NUL character",
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                )
            elif isinstance(error.original_error, GlobalIDValueError):
                yield GraphQLError(
                    "not a node ID of this API",
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value, "argument": "id"},
                )
            elif error.original_error is None:
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_USER_INPUT}
                yield error
            else:
                # Our own fault. The traceback is logged without messages: they may hold
                # what the caller typed or a statement's parameters.
                observed = getattr(self.execution_context.context, "observed", None)
                log.error(
                    "internal error at %s",
                    error.path,
                    exc_info=error.original_error,
                    extra={"request_id": getattr(observed, "request_id", None)},
                )
                masked = self.anonymise_error(error)
                masked.extensions = {"code": ErrorCode.INTERNAL.value}
                # The caller quotes it to an operator, who finds the details in the log.
                request_id = getattr(self.execution_context.context, "request_id", None)
                if request_id:
                    masked.extensions["requestId"] = request_id
                yield masked
