"""Limits on a document, checked from the cheapest to the dearest.

Parsing stops at the token limit (graphql-core counts tokens as it lexes), so a huge
document costs milliseconds; a document with too many operations is refused before
validation; validation adds the depth, alias and root-field rules (and, for callers
who may not, refuses introspection). Only small documents are cached, so the caches
are bounded in bytes and not only in entries.
"""

from collections.abc import Iterator
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from api.errors import ErrorCode
from auth.principal import PartnerPrincipal
from models.config import Environment, Settings

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_ROOT_FIELDS = 30
MAX_OPERATIONS = 20
DEFAULT_MAX_TOKENS = 5000
# Documents up to this many characters are cached (parsed and validated), within a
# total of CACHE_CHARS characters of query text.
MAX_CACHED_DOCUMENT_CHARS = 8 * 1024
CACHE_CHARS = 2 * 1024 * 1024


class _RootFieldLimit(ASTValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        count = _count_fields(node.selection_set)
        if count > MAX_ROOT_FIELDS:
            self.report_error(
                GraphQLError(
                    f"{count} root fields in one operation. Allowed: {MAX_ROOT_FIELDS}",
                    node,
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                )
            )


def _count_fields(selection_set: SelectionSetNode) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_fields(selection.selection_set)
        else:
            count += 1  # a named fragment counts as one: its own fields meet the other rules
    return count


# Built once: a rule class made afresh per request would miss every cache keyed on it.
_RULES: tuple[type[ASTValidationRule], ...] = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    _RootFieldLimit,
)
_RULES_WITHOUT_INTROSPECTION = (*_RULES, NoSchemaIntrospectionCustomRule)

_SizedCache = LRUCache[Any, Any]
_parsed: _SizedCache = LRUCache(maxsize=CACHE_CHARS, getsizeof=lambda entry: entry[1])
_validated: _SizedCache = LRUCache(maxsize=CACHE_CHARS, getsizeof=lambda entry: entry[1])


def _coded(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        error.message,
        source=error.source,
        positions=error.positions,
        extensions={"code": ErrorCode.BAD_USER_INPUT.value},
    )


def parse_document(query: str, max_tokens: int) -> DocumentNode:
    """Parse query, stopping at max_tokens; syntax errors carry BAD_USER_INPUT."""
    cacheable = len(query) <= MAX_CACHED_DOCUMENT_CHARS
    if cacheable:
        cached = _parsed.get(query)
        if cached is not None and cached[2] == max_tokens:
            return cached[0]  # type: ignore[no-any-return]
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        raise _coded(error) from None
    except RecursionError:
        raise GraphQLError(
            "the document is nested too deeply",
            extensions={"code": ErrorCode.BAD_USER_INPUT.value},
        ) from None
    if cacheable:
        _parsed[query] = (document, len(query), max_tokens)
    return document


def _operation_count(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _too_many_operations(count: int) -> GraphQLError:
    return GraphQLError(
        f"{count} operations in one document. Allowed: {MAX_OPERATIONS}",
        extensions={"code": ErrorCode.BAD_USER_INPUT.value},
    )


def _may_introspect(context: Any) -> bool:
    settings: Settings | None = getattr(getattr(context, "services", None), "settings", None)
    if settings is None or settings.env is not Environment.PRODUCTION:
        return True
    return isinstance(getattr(context, "principal", None), PartnerPrincipal)


class DocumentLimits(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        execution_context = self.execution_context
        settings = getattr(getattr(execution_context.context, "services", None), "settings", None)
        max_tokens = settings.max_document_tokens if settings else DEFAULT_MAX_TOKENS
        assert execution_context.query is not None
        execution_context.graphql_document = parse_document(execution_context.query, max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        assert document is not None
        count = _operation_count(document)
        if count > MAX_OPERATIONS:
            execution_context.pre_execution_errors = [_too_many_operations(count)]
            yield
            return
        extra = (
            _RULES if _may_introspect(execution_context.context) else _RULES_WITHOUT_INTROSPECTION
        )
        rules = (*execution_context.validation_rules, *extra)
        query = execution_context.query or ""
        key = (query, extra)
        cached = _validated.get(key) if len(query) <= MAX_CACHED_DOCUMENT_CHARS else None
        if cached is not None:
            errors = cached[0]
        else:
            errors = validate_document(execution_context.schema._schema, document, rules)
            if len(query) <= MAX_CACHED_DOCUMENT_CHARS:
                _validated[key] = (errors, len(query))
        execution_context.pre_execution_errors = errors
        yield
