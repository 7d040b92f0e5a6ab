"""Who is calling, read from the request's Authorization header."""

import uuid
from dataclasses import dataclass

from auth.tokens import InvalidToken, TokenIssuer


@dataclass(frozen=True)
class Anonymous:
    # Why the credentials offered (if any) were refused; shown to the caller.
    refusal: str | None = None


@dataclass(frozen=True)
class CitizenPrincipal:
    citizen_id: uuid.UUID

    @property
    def label(self) -> str:
        return f"citizen:{self.citizen_id}"


Principal = Anonymous | CitizenPrincipal


def principal_from_header(authorization: str | None, issuer: TokenIssuer) -> Principal:
    if not authorization:
        return Anonymous()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return Anonymous("the Authorization header must be `Bearer <token>`")
    try:
        claims = issuer.verify(credentials.strip())
    except InvalidToken as error:
        return Anonymous(str(error))
    return CitizenPrincipal(claims.citizen_id)
