"""Automatic persisted queries, Apollo's protocol.

A client first sends only `extensions.persistedQuery.sha256Hash`; an unknown hash is
answered `PersistedQueryNotFound` (extensions.code PERSISTED_QUERY_NOT_FOUND), and
the client sends the query with its hash, which registers it once it has validated.
With `persisted_queries_only`, citizen tokens run registered documents only, and only
partners register new ones.
"""

import re
from collections import OrderedDict
from dataclasses import dataclass

from api.context import Context
from api.errors import ErrorCode
from api.graphql_http import RequestError
from auth.principal import CitizenPrincipal, PartnerPrincipal
from models.persisted_query import document_hash, find_document, register_document
from models.stores import Store, is_unavailable

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Documents this process has seen registered, by hash: a hash names one document forever.
_KNOWN_BYTES = 4 * 1024 * 1024


class _KnownDocuments:
    """An LRU of registered documents, bounded in bytes rather than entries."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    def put(self, sha256: str, document: str) -> None:
        if sha256 in self._documents or len(document) > self.max_bytes:
            return
        self._documents[sha256] = document
        self._bytes += len(document)
        while self._bytes > self.max_bytes:
            _, evicted = self._documents.popitem(last=False)
            self._bytes -= len(evicted)


_known = _KnownDocuments(_KNOWN_BYTES)


@dataclass(frozen=True)
class ResolvedQuery:
    query: str | None
    # Register this document once it has validated (it is new, and the caller may).
    register: bool = False


def _requested_hash(extensions: dict[str, object] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestError(ErrorCode.BAD_USER_INPUT, "unsupported persistedQuery version")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise RequestError(
            ErrorCode.BAD_USER_INPUT, "persistedQuery.sha256Hash must be 64 lowercase hex digits"
        )
    return sha256


async def registered_document(context: Context, sha256: str) -> str | None:
    """The document registered under sha256, from this process's memory or the core store."""
    document = _known.get(sha256)
    if document is not None:
        return document
    try:
        async with context.services.engines.reader(Store.CORE).connect() as core:
            document = await find_document(core, sha256)
    except Exception as error:
        if not is_unavailable(error):
            raise
        raise RequestError(
            ErrorCode.STORE_UNAVAILABLE, "the core store is unavailable", store="core"
        ) from error
    if document is not None:
        _known.put(sha256, document)
    return document


async def register(context: Context, document: str) -> None:
    async with context.services.engines[Store.CORE].begin() as core:
        sha256 = await register_document(core, document)
    _known.put(sha256, document)


def _only_registered(context: Context) -> bool:
    return context.services.settings.persisted_queries_only and isinstance(
        context.principal, CitizenPrincipal
    )


def _may_register(context: Context) -> bool:
    if not context.services.settings.persisted_queries_only:
        return True
    return isinstance(context.principal, PartnerPrincipal)


def _not_registered() -> RequestError:
    return RequestError(ErrorCode.FORBIDDEN, "only registered operations run with this token")


async def resolve_query(
    context: Context, query: str | None, extensions: dict[str, object] | None
) -> ResolvedQuery:
    """The document to run for a request's `query` and `extensions`."""
    sha256 = _requested_hash(extensions)
    if sha256 is None:
        if (
            query is not None
            and _only_registered(context)
            and await registered_document(context, document_hash(query)) is None
        ):
            raise _not_registered()
        return ResolvedQuery(query)
    if query is None:
        document = await registered_document(context, sha256)
        if document is None:
            raise RequestError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        return ResolvedQuery(document)
    if document_hash(query) != sha256:
        raise RequestError(ErrorCode.BAD_USER_INPUT, "provided sha does not match query")
    if await registered_document(context, sha256) is not None:
        return ResolvedQuery(query)
    if _may_register(context):
        return ResolvedQuery(query, register=True)
    if _only_registered(context):
        raise _not_registered()
    return ResolvedQuery(query)
