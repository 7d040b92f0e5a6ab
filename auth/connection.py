"""A citizen on a long-lived connection (a GraphQL websocket).

The access token comes in the `connection_init` payload, either as
`{"Authorization": "Bearer <token>"}` or as `{"token": "<token>"}`, because
browsers cannot set headers on a websocket. It is checked once when the
connection opens and again while it stays open: an expired token, or one whose
sign-in session was ended (logout, a reused refresh token), ends the connection.
"""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from auth import partners
from auth.principal import CitizenPrincipal
from auth.tokens import AccessClaims, InvalidToken, TokenIssuer
from models.session import family_revoked
from models.stores import is_unavailable

log = logging.getLogger("healthgraph.auth")


class ConnectionRefused(Exception):
    """The connection cannot be opened or kept; the message says why, without the token."""


@dataclass(frozen=True)
class ConnectedCitizen:
    claims: AccessClaims

    @property
    def citizen_id(self) -> uuid.UUID:
        return self.claims.citizen_id

    @property
    def principal(self) -> CitizenPrincipal:
        return CitizenPrincipal(self.claims.citizen_id)

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.claims.expires_at - (now or datetime.now(UTC))).total_seconds()


def token_in(params: Mapping[str, object]) -> str | None:
    """The access token of a connection_init payload, in either documented form."""
    for key, value in params.items():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, credentials = value.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    token = params.get("token")
    return token.strip() if isinstance(token, str) and token.strip() else None


def connect(params: Mapping[str, object], issuer: TokenIssuer) -> ConnectedCitizen:
    token = token_in(params)
    if token is None:
        raise ConnectionRefused("no citizen access token in the connection_init payload")
    if partners.is_partner_token(token):
        raise ConnectionRefused("live updates are for signed-in citizens")
    try:
        return ConnectedCitizen(issuer.verify(token))
    except InvalidToken as error:
        raise ConnectionRefused(str(error)) from error


async def still_allowed(citizen: ConnectedCitizen, core: AsyncEngine) -> None:
    """Raises ConnectionRefused once the token has expired or its session has ended.

    `core` is the core store's engine for reads. When the store does not answer,
    the session is taken as still live: the token's expiry still ends it.
    """
    if citizen.seconds_left() <= 0:
        raise ConnectionRefused("token expired")
    session_id = citizen.claims.session_id
    if session_id is None:
        return
    try:
        async with core.connect() as connection:
            revoked = await family_revoked(connection, session_id)
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("session of a live connection not checked: %s", error.__class__.__name__)
        return
    if revoked:
        raise ConnectionRefused("session ended")
