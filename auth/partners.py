"""Partner API tokens: opaque, recognisable by their prefix, shown once, kept as a hash.

Every request looks its token up in the core store (no cache), so a revoked
or expired token stops working on the very next request in every process.
"""

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from auth.scopes import Scope
from models import partner

TOKEN_PREFIX = "hgp_"
_SHOWN_PREFIX = 12


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_partner_token(credentials: str) -> bool:
    return credentials.startswith(TOKEN_PREFIX)


@dataclass(frozen=True)
class IssuedToken:
    partner_id: uuid.UUID
    name: str
    token: str
    expires_at: datetime | None


class PartnerNotFound(LookupError):
    pass


class PartnerExists(ValueError):
    pass


async def holder_of(core: AsyncConnection, token: str) -> partner.TokenHolder | None:
    return await partner.holder_of(core, token_hash(token))


async def _issue(
    core: AsyncConnection, partner_id: uuid.UUID, name: str, expires_at: datetime | None
) -> tuple[IssuedToken, uuid.UUID]:
    token = new_token()
    token_id = await partner.insert_token(
        core, partner_id, token_hash(token), token[:_SHOWN_PREFIX], expires_at
    )
    return IssuedToken(partner_id, name, token, expires_at), token_id


async def create(
    core: AsyncConnection,
    name: str,
    scopes: Iterable[Scope],
    province_code: str | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    if await partner.find_partner(core, name) is not None:
        raise PartnerExists(f"a partner named {name!r} exists already")
    partner_id = await partner.insert_partner(core, name, [s.value for s in scopes], province_code)
    issued, _ = await _issue(core, partner_id, name, expires_at)
    return issued


async def _find(core: AsyncConnection, name_or_id: str) -> partner.Partner:
    row = await partner.find_partner(core, name_or_id)
    if row is None:
        raise PartnerNotFound(f"no partner named {name_or_id!r}")
    return row  # type: ignore[return-value]


async def rotate(
    core: AsyncConnection,
    name_or_id: str,
    expires_at: datetime | None = None,
    old_valid_until: datetime | None = None,
) -> IssuedToken:
    """A new token; the old ones stop now, or at old_valid_until to let deployments roll."""
    found = await _find(core, name_or_id)
    if found.revoked_at is not None:
        raise PartnerNotFound(f"partner {found.name!r} is revoked")
    issued, token_id = await _issue(core, found.id, found.name, expires_at)
    await partner.retire_tokens(core, found.id, keep=token_id, until=old_valid_until)
    return issued


async def revoke(core: AsyncConnection, name_or_id: str) -> uuid.UUID:
    found = await _find(core, name_or_id)
    await partner.revoke_partner(core, found.id)
    return found.id
