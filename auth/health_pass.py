"""Health passes: minted only when needed, signed, checked online and offline, revocable.

A pass is a compact JWS (ES256) typed `hg-pass+jwt`, signed by a pass key (its
own directory and kids, published in the same JWKS as the access keys) for the
pass audience. It says only: a pass ID (`jti`), when it was issued (`iat`),
until when it holds (`exp`), the colour (`col`), the holder's initials (`ini`),
year of birth (`yob`, when known) and, only if the holder turned it on, their
full name (`name`), beside the issuer and audience every verifier checks.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.jws import decoder
from auth.keys import KeyPurpose, KeyRing
from auth.principal import CitizenPrincipal, PartnerPrincipal, Principal
from auth.scopes import Scope, Section
from models.audit import Actor, AuditAction, record
from models.config import Environment, Settings
from models.health_pass import (
    Holder,
    Revoker,
    live_pass,
    lock_holder,
    pass_by_id,
    replace_live_pass,
    revoke,
    revoked_pass_ids,
    still_shows_the_colour,
)
from models.health_status import Colour, HealthStatus, PassRules

ALGORITHM = "ES256"
PASS_TYPE = "hg-pass+jwt"
REVOKED_LIST_TYPE = "hg-revoked-passes+jwt"
# Every claim a pass may carry; a test holds every minted pass to this list.
PASS_CLAIMS = frozenset({"iss", "aud", "jti", "iat", "exp", "col", "ini", "yob", "name"})


class PassCheck(StrEnum):
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    # Not a pass this service signed, or altered since.
    FORGED = "FORGED"


@dataclass(frozen=True)
class PassContent:
    """What a pass says."""

    pass_id: uuid.UUID
    colour: Colour
    initials: str
    year_of_birth: int | None
    full_name: str | None
    issued_at: datetime
    valid_until: datetime

    def shows(self) -> tuple[str, int | None, str | None]:
        return self.initials, self.year_of_birth, self.full_name


@dataclass(frozen=True)
class IssuedPass:
    content: PassContent
    credential: str


def initials(full_name: str) -> str:
    """`Nguyễn Văn An` → `NVA`."""
    return "".join(word[0].upper() for word in full_name.split())


def holder_shows(holder: Holder) -> tuple[str, int | None, str | None]:
    return (
        initials(holder.full_name),
        holder.date_of_birth.year if holder.date_of_birth else None,
        holder.full_name if holder.shows_full_name and holder.full_name else None,
    )


def _seconds(moment: datetime) -> datetime:
    """JWT times are whole seconds; the stored pass says exactly what its credential says."""
    return moment.replace(microsecond=0)


class PassIssuer:
    def __init__(
        self,
        ring: KeyRing,
        issuer: str,
        audience: str,
        rules: PassRules,
        max_lifetime: timedelta,
        revoked_list_max_age: int = 300,
    ) -> None:
        if ring.purpose is not KeyPurpose.PASS:
            raise ValueError("passes are signed by pass keys only")
        self.ring = ring
        self.issuer = issuer
        self.audience = audience
        self.rules = rules
        self.max_lifetime = max_lifetime
        self.revoked_list_max_age = revoked_list_max_age
        self._revoked_list: tuple[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "PassIssuer":
        create = settings.env is Environment.DEVELOPMENT
        return cls(
            KeyRing.load(settings.pass_keys_path, KeyPurpose.PASS, create=create),
            settings.jwt_issuer,
            settings.pass_audience,
            PassRules.from_settings(settings),
            timedelta(days=settings.pass_max_days),
            settings.revoked_passes_max_age_seconds,
        )

    # Signing and reading

    def sign(self, content: PassContent) -> str:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "jti": str(content.pass_id),
            "iat": int(content.issued_at.timestamp()),
            "exp": int(content.valid_until.timestamp()),
            "col": content.colour.value,
            "ini": content.initials,
        }
        if content.year_of_birth is not None:
            claims["yob"] = content.year_of_birth
        if content.full_name is not None:
            claims["name"] = content.full_name
        key = self.ring.signing_key(content.issued_at)
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": PASS_TYPE}
        )

    def read(self, token: str, now: datetime) -> tuple[PassCheck, PassContent | None]:
        """VALID, EXPIRED or FORGED from the credential alone (revocation is the store's)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return PassCheck.FORGED, None
        key = self.ring.by_kid(header.get("kid"))
        if header.get("alg") != ALGORITHM or header.get("typ") != PASS_TYPE or key is None:
            return PassCheck.FORGED, None
        try:
            claims = decoder.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["jti", "iat", "exp", "col", "ini"], "verify_exp": False},
            )
            content = PassContent(
                pass_id=uuid.UUID(claims["jti"]),
                colour=Colour(claims["col"]),
                initials=str(claims["ini"]),
                year_of_birth=claims.get("yob"),
                full_name=claims.get("name"),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                valid_until=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return PassCheck.FORGED, None
        if set(claims) - PASS_CLAIMS:
            return PassCheck.FORGED, None
        return (PassCheck.VALID if now < content.valid_until else PassCheck.EXPIRED), content

    # Minting

    def lifetime(self, status: HealthStatus, now: datetime) -> datetime:
        cap = now + self.max_lifetime
        return _seconds(min(status.valid_until, cap) if status.valid_until else cap)

    def _still_right(
        self, live: Row[Any], status: HealthStatus, holder: Holder, now: datetime
    ) -> bool:
        """The live pass shows today's colour, holds no longer than that colour does, and
        shows the holder as they now choose."""
        if not still_shows_the_colour(live.colour, live.valid_until, status, now):
            return False
        shown = jwt.decode(live.credential, options={"verify_signature": False})
        return (shown["ini"], shown.get("yob"), shown.get("name")) == holder_shows(holder)

    async def current(
        self, core: AsyncConnection, citizen_id: uuid.UUID, status: HealthStatus, now: datetime
    ) -> IssuedPass | None:
        """The citizen's live pass while it is still right, else a new one replacing it.
        Run in a transaction; None when there is no such citizen."""
        holder = await lock_holder(core, citizen_id)
        if holder is None:
            return None
        live = await live_pass(core, citizen_id)
        if live is not None and self._still_right(live, status, holder, now):
            shown = self.read(live.credential, now)[1]
            if shown is not None:
                return IssuedPass(shown, live.credential)
        ini, yob, name = holder_shows(holder)
        content = PassContent(
            pass_id=uuid.uuid4(),
            colour=status.colour,
            initials=ini,
            year_of_birth=yob,
            full_name=name,
            issued_at=_seconds(now),
            valid_until=self.lifetime(status, now),
        )
        credential = self.sign(content)
        await replace_live_pass(
            core,
            {
                "id": content.pass_id,
                "citizen_id": citizen_id,
                "colour": content.colour.value,
                "issued_at": content.issued_at,
                "valid_until": content.valid_until,
                "credential": credential,
            },
        )
        return IssuedPass(content, credential)

    # Checking

    async def check(
        self, core: AsyncConnection, token: str, now: datetime
    ) -> tuple[PassCheck, PassContent | None, uuid.UUID | None]:
        """The verdict, what the pass says, and whose it is (None when FORGED)."""
        verdict, content = self.read(token, now)
        if content is None:
            return verdict, None, None
        row = await pass_by_id(core, content.pass_id)
        if row is None or row.colour != content.colour.value:
            return PassCheck.FORGED, None, None
        if verdict is PassCheck.VALID and row.revoked_at is not None and row.revoked_at <= now:
            verdict = PassCheck.REVOKED
        return verdict, content, row.citizen_id

    # The revoked list

    async def revoked_list(self, core: AsyncConnection, now: datetime) -> tuple[str, str, int]:
        """The signed list, its ETag and the seconds it may be cached. The list is issued
        once per max-age window, so every request in a window gets the same document."""
        window = self.revoked_list_max_age
        issued = int(now.timestamp()) // window * window
        ids = [str(i) for i in await revoked_pass_ids(core, now)]
        payload = {"iss": self.issuer, "aud": self.audience, "iat": issued, "revoked": ids}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
        if self._revoked_list is None or self._revoked_list[0] != digest:
            key = self.ring.signing_key(now)
            token = jwt.encode(
                payload,
                key.private_key,
                algorithm=ALGORITHM,
                headers={"kid": key.kid, "typ": REVOKED_LIST_TYPE},
            )
            self._revoked_list = (digest, token)
        return self._revoked_list[1], f'W/"{digest}"', issued + window - int(now.timestamp())


class NoSuchPass(Exception):
    """No pass with that ID that the caller may revoke (the two look alike)."""


OPERATOR = Actor("OPERATOR", "command-line", "Health pass operator")


async def revoke_pass(
    core: AsyncConnection, principal: Principal | Actor, pass_id: uuid.UUID, request_id: str
) -> Row[Any]:
    """A citizen revokes their own pass; a partner holding `pass:revoke` or an operator at
    the command line revokes any, which the citizen sees in their access log. Revoking a
    revoked pass changes nothing. Run in a transaction."""
    row = await pass_by_id(core, pass_id)
    if isinstance(principal, CitizenPrincipal):
        if row is None or row.citizen_id != principal.citizen_id:
            raise NoSuchPass()
        revoked = await revoke(core, pass_id, Revoker.CITIZEN)
    else:
        if isinstance(principal, PartnerPrincipal) and principal.holds(Scope.PASS_REVOKE):
            actor = Actor("PARTNER", str(principal.partner_id), principal.name)
        elif isinstance(principal, Actor):
            actor = principal
        else:
            raise NoSuchPass()
        if row is None:
            raise NoSuchPass()
        revoked = await revoke(core, pass_id, Revoker.OPERATOR)
        if row.revoked_at is None:
            await record(
                core,
                actor,
                AuditAction.PASS_REVOKE,
                [(row.citizen_id, [Section.HEALTH_PASS.value])],
                request_id,
            )
    assert revoked is not None
    return revoked
