"""Request rate limits per caller and per client address, counted in the core store
so that they hold across every process. A refusal is HTTP 429 with `Retry-After`
and `extensions.retryAfter`."""

import logging

from api.context import Context
from api.errors import ErrorCode
from api.graphql_http import TransportError
from auth.principal import CitizenPrincipal, PartnerPrincipal
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


async def count_request(context: Context) -> None:
    """Count this request; refuse it when the caller or its address is over its limit."""
    settings = context.services.settings
    limits: dict[str, int] = {}
    caller = _caller_key(context) if settings.rate_limit_per_token else None
    if caller is not None:
        limits[caller] = settings.rate_limit_per_token
    if settings.rate_limit_per_address:
        limits[f"req:address:{client_address(context)}"] = settings.rate_limit_per_address
    if not limits:
        return
    counts = context.services.request_counts
    assert counts is not None, "the app counts requests from its start"
    try:
        hits = await counts.hit(limits)
    except Exception as error:
        if not is_unavailable(error):
            raise
        # Counting needs the core store; without it, requests are not held back.
        log.warning("request rate not counted: %s", error.__class__.__name__)
        return
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
