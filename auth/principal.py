"""Who is calling, read from the request's Authorization header.

`Bearer hgp_…` is a partner token, looked up in the core store on every
request; any other bearer token must be a citizen access JWT.
"""

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from auth import partners
from auth.revocations import Revocations
from auth.scopes import Scope
from auth.tokens import InvalidToken, TokenIssuer
from models.stores import is_unavailable

log = logging.getLogger("healthgraph.auth")


@dataclass(frozen=True)
class Anonymous:
    # Why the credentials offered (if any) were refused; shown to the caller.
    refusal: str | None = None
    # Set when the credentials could not be checked at all (the core store is down).
    unavailable: bool = False


@dataclass(frozen=True)
class CitizenPrincipal:
    citizen_id: uuid.UUID

    @property
    def label(self) -> str:
        return f"citizen:{self.citizen_id}"


@dataclass(frozen=True)
class PartnerPrincipal:
    partner_id: uuid.UUID
    name: str
    scopes: frozenset[str]
    province_code: str | None
    token_id: uuid.UUID

    @property
    def label(self) -> str:
        return f"partner:{self.partner_id}"

    def holds(self, scope: Scope) -> bool:
        return scope.value in self.scopes


Principal = Anonymous | CitizenPrincipal | PartnerPrincipal


def _credentials(authorization: str | None) -> str | Anonymous:
    if not authorization:
        return Anonymous()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return Anonymous("the Authorization header must be `Bearer <token>`")
    return credentials.strip()


def _citizen(credentials: str, issuer: TokenIssuer, revocations: Revocations | None) -> Principal:
    """The citizen behind an access JWT, unless its session has been signed out."""
    try:
        claims = issuer.verify(credentials)
    except InvalidToken as error:
        return Anonymous(str(error))
    session = claims.session_id
    if session is not None and revocations is not None and revocations.revoked(session):
        return Anonymous("the session has been signed out")
    return CitizenPrincipal(claims.citizen_id)


async def _partner(core: AsyncEngine, token: str) -> Principal:
    try:
        async with core.connect() as connection:
            holder = await partners.holder_of(connection, token)
    except Exception as error:
        if not is_unavailable(error):
            raise
        # The store being down must not sign anyone in or out.
        log.warning("partner token not checked: %s", error.__class__.__name__)
        return Anonymous("partner tokens cannot be checked right now", unavailable=True)
    if holder is None:
        return Anonymous("unknown, expired or revoked partner token")
    return PartnerPrincipal(
        holder.partner_id, holder.name, holder.scopes, holder.province_code, holder.token_id
    )


async def authenticate(
    authorization: str | None,
    issuer: TokenIssuer,
    core: AsyncEngine,
    revocations: Revocations | None = None,
) -> Principal:
    """`core` is the core store's engine for reads (see Engines.reader)."""
    credentials = _credentials(authorization)
    if isinstance(credentials, Anonymous):
        return credentials
    if partners.is_partner_token(credentials):
        return await _partner(core, credentials)
    return _citizen(credentials, issuer, revocations)
