"""Citizen access tokens: ES256 JWTs with a key ID, issuer, audience and expiry.

An access token says what it is in its header (`typ: at+jwt`, RFC 9068) and is
signed by an access key: a health pass, signed by a pass key for another audience
and typed `hg-pass+jwt`, fails all three checks here.
"""

import base64
import binascii
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson

from auth.jws import decoder
from auth.keys import KeyPurpose, KeyRing, SigningKey
from models.config import Environment, Settings

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"
# Tokens remembered as verified, per process; the oldest is forgotten first.
VERIFIED_CACHE_SIZE = 50_000


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why, without echoing it."""


@dataclass(frozen=True)
class AccessClaims:
    citizen_id: uuid.UUID
    expires_at: datetime
    token_id: str
    # The refresh-token family (sign-in session) the token was issued in, if any.
    session_id: uuid.UUID | None = None


def _header(token: str) -> dict[str, Any]:
    """The header, to choose the key by. Read here rather than by PyJWT, which would read
    and check the whole token twice; the decoder still checks all of it."""
    segment = token.split(".", 1)[0]
    try:
        header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as error:
        raise InvalidToken("malformed token") from error
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


class TokenIssuer:
    def __init__(self, ring: KeyRing, issuer: str, audience: str, ttl: timedelta) -> None:
        if ring.purpose is not KeyPurpose.ACCESS:
            raise ValueError("access tokens are signed by access keys only")
        self.ring = ring
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        # Claims as plain numbers and strings: a tuple of those is not tracked by the
        # garbage collector, which would otherwise walk every remembered token (with
        # its UUIDs) on each full pass.
        self._verified: dict[str, tuple[int, float, str, int | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenIssuer":
        create = settings.env is Environment.DEVELOPMENT
        return cls(
            KeyRing.load(settings.keys_dir, KeyPurpose.ACCESS, create=create),
            settings.jwt_issuer,
            settings.jwt_audience,
            timedelta(minutes=settings.access_token_minutes),
        )

    @property
    def keys(self) -> list[SigningKey]:
        return self.ring.keys()

    def issue(
        self,
        citizen_id: uuid.UUID,
        *,
        now: datetime | None = None,
        session_id: uuid.UUID | None = None,
    ) -> str:
        now = now or datetime.now(UTC)
        signing_key = self.ring.signing_key(now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(citizen_id),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        if session_id is not None:
            # The refresh-token family this token was issued in.
            claims["sid"] = str(session_id)
        return jwt.encode(
            claims,
            signing_key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": signing_key.kid, "typ": TOKEN_TYPE},
        )

    def verify(self, token: str) -> AccessClaims:
        """Check a token, remembering good ones for their lifetime: an app sends the same
        token with every request, and an ES256 verification is the costly part."""
        remembered = self._verified.get(token)
        if remembered is not None:
            citizen, expires, token_id, session = remembered
            if time.time() < expires:
                return AccessClaims(
                    citizen_id=uuid.UUID(int=citizen),
                    expires_at=datetime.fromtimestamp(expires, UTC),
                    token_id=token_id,
                    session_id=None if session is None else uuid.UUID(int=session),
                )
            del self._verified[token]
        claims = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (
            claims.citizen_id.int,
            claims.expires_at.timestamp(),
            claims.token_id,
            None if claims.session_id is None else claims.session_id.int,
        )
        return claims

    def _verify_signed(self, token: str) -> AccessClaims:
        header = _header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported signing algorithm")
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("not an access token")
        key = self.ring.by_kid(header.get("kid"))
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = decoder.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]},
            )
            citizen_id = uuid.UUID(claims["sub"])
            session_id = uuid.UUID(claims["sid"]) if "sid" in claims else None
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("token expired") from error
        except (jwt.PyJWTError, ValueError) as error:
            raise InvalidToken("invalid token") from error
        return AccessClaims(
            citizen_id=citizen_id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            token_id=str(claims.get("jti", "")),
            session_id=session_id,
        )
