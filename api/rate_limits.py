"""Request rate limits per caller and per client address, counted in the core store
so that they hold across every process. A refusal is HTTP 429 with `Retry-After`
and `extensions.retryAfter`.

A hit this process cannot decide alone (a caller new to it, or one near a limit) is
written to the store before the request is answered. When a compiled plan is to
answer, the write is left to the plan's own statement (`Counting`), so that counting
and reading are one round trip; whatever path answers instead writes it first
(`settle_count`).
"""

import logging
from collections.abc import Mapping

from api.context import Context
from api.errors import ErrorCode
from api.graphql_http import TransportError
from auth.principal import CitizenPrincipal, PartnerPrincipal
from models.ratelimit import Counting, Hit, RequestCounts
from models.stores import is_unavailable

log = logging.getLogger("healthgraph.ratelimit")


def _caller_key(context: Context) -> str | None:
    principal = context.principal
    if isinstance(principal, PartnerPrincipal):
        return f"req:partner-token:{principal.token_id}"
    if isinstance(principal, CitizenPrincipal):
        return f"req:citizen:{principal.citizen_id}"
    return None


def client_address(context: Context) -> str:
    client = context.request.client
    return client.host if client else "unknown"


def _limits(context: Context) -> dict[str, int]:
    settings = context.services.settings
    limits: dict[str, int] = {}
    caller = _caller_key(context) if settings.rate_limit_per_token else None
    if caller is not None:
        limits[caller] = settings.rate_limit_per_token
    if settings.rate_limit_per_address:
        limits[f"req:address:{client_address(context)}"] = settings.rate_limit_per_address
    return limits


def _counts(context: Context) -> RequestCounts:
    counts = context.services.request_counts
    assert counts is not None, "the app counts requests from its start"
    return counts


async def count_request(context: Context, *, plan_may_write: bool = False) -> None:
    """Count this request; refuse it when the caller or its address is over its limit.
    plan_may_write: a compiled plan may answer, and then writes the count itself."""
    limits = _limits(context)
    if not limits:
        return
    taken = _counts(context).take(limits)
    if isinstance(taken, dict):
        _refuse_over(taken, limits)
        return
    context.counting = Counting(limits, taken)
    if not plan_may_write:
        await settle_count(context)


async def settle_count(context: Context) -> None:
    """Decide a request whose count was left to a plan: with what the plan's statement
    returned, or, when no plan wrote it, after writing it now. Once per request."""
    counting = context.counting
    if counting is None:
        return
    context.counting = None
    hits = counting.hits
    if hits is None:
        try:
            hits = await _counts(context).write(counting.to_write)
        except Exception as error:
            if not is_unavailable(error):
                raise
            # Counting needs the core store; without it, requests are not held back.
            log.warning("request rate not counted: %s", error.__class__.__name__)
            return
    _refuse_over(hits, counting.limits)


def _refuse_over(hits: Mapping[str, Hit], limits: Mapping[str, int]) -> None:
    retry_after = max(
        (hit.retry_after for key, hit in hits.items() if hit.over(limits[key])), default=None
    )
    if retry_after is not None:
        raise TransportError(
            429,
            ErrorCode.RATE_LIMITED,
            f"too many requests: retry in {retry_after} s",
            headers={"retry-after": str(retry_after)},
            retryAfter=retry_after,
        )
