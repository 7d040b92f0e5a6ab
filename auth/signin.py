"""Citizen sign-in: a code sent to the phone, then rotating sessions.

The same codes, limits and lifetime confirm a phone a province office adds to a
citizen (auth.registration): such a code is tied to the office and never signs in.

Everything that must hold across app processes (challenges, attempt counts,
rate-limit counters, refresh tokens) lives in the core store.
"""

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.otp import CodeHasher, load_pepper, new_code
from auth.sms import CodePurpose, CodeSender, DeliveryFailed, sender_from_settings
from auth.tokens import TokenIssuer
from models import otp, ratelimit, session
from models.config import Settings
from models.identifiers import InvalidIdentifier, normalize_phone
from models.profile import ensure_citizen

log = logging.getLogger("healthgraph.signin")

REFRESH_TOKEN_PREFIX = "hgr_"


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts: retry in {retry_after} s")
        self.retry_after = retry_after


class Problem(StrEnum):
    INVALID_PHONE = "INVALID_PHONE"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    INVALID_CODE = "INVALID_CODE"
    CODE_EXPIRED = "CODE_EXPIRED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    CODE_ALREADY_USED = "CODE_ALREADY_USED"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    SESSION_REVOKED = "SESSION_REVOKED"
    NOT_FOUND = "NOT_FOUND"


class SignInRefused(Exception):
    """An expected refusal, told to the caller as a user error."""

    def __init__(self, problem: Problem, field: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Challenge:
    id: uuid.UUID
    phone: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    citizen_id: uuid.UUID
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    new_citizen: bool = False


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_CHALLENGE_REFUSALS = {
    otp.ChallengeState.UNKNOWN: (Problem.CODE_EXPIRED, "no such sign-in code: request a new one"),
    otp.ChallengeState.EXPIRED: (Problem.CODE_EXPIRED, "the code has expired: request a new one"),
    otp.ChallengeState.EXHAUSTED: (
        Problem.TOO_MANY_ATTEMPTS,
        "too many wrong codes: request a new one",
    ),
    otp.ChallengeState.USED: (Problem.CODE_ALREADY_USED, "this code has already been used"),
    otp.ChallengeState.OPEN: (Problem.CODE_EXPIRED, "the code has expired: request a new one"),
}
# An office confirming a phone: another office's confirmation, or a sign-in code, is unknown.
_CONFIRMATION_REFUSALS = {
    **_CHALLENGE_REFUSALS,
    otp.ChallengeState.UNKNOWN: (
        Problem.NOT_FOUND,
        "no phone confirmation of your office has this ID: request a new code",
    ),
}

_SESSION_REFUSALS = {
    session.Refusal.UNKNOWN: (Problem.INVALID_REFRESH_TOKEN, "unknown refresh token"),
    session.Refusal.EXPIRED: (Problem.INVALID_REFRESH_TOKEN, "the session has expired"),
    session.Refusal.REVOKED: (Problem.SESSION_REVOKED, "the session has been signed out"),
    session.Refusal.REUSED: (
        Problem.SESSION_REVOKED,
        "this refresh token was already used: the session is signed out everywhere",
    ),
}


class SignIn:
    def __init__(
        self,
        core: AsyncEngine,
        issuer: TokenIssuer,
        settings: Settings,
        sender: CodeSender,
        hasher: CodeHasher,
    ) -> None:
        self.core = core
        self.issuer = issuer
        self.settings = settings
        self.sender = sender
        self.hasher = hasher
        self.code_ttl = timedelta(seconds=settings.otp_ttl_seconds)
        self.refresh_ttl = timedelta(days=settings.refresh_token_days)
        self.rate_window = timedelta(seconds=settings.otp_rate_window_seconds)
        self.reuse_grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)

    @classmethod
    def from_settings(cls, core: AsyncEngine, issuer: TokenIssuer, settings: Settings) -> "SignIn":
        return cls(
            core,
            issuer,
            settings,
            sender_from_settings(settings),
            CodeHasher(load_pepper(settings)),
        )

    async def _limit(self, key: str, limit: int) -> None:
        """Count a hit; the count is committed even when the request is then refused."""
        async with self.core.begin() as core:
            found = await ratelimit.hit(core, key, self.rate_window)
        if found.over(limit):
            raise RateLimited(found.retry_after)

    async def request_code(self, raw_phone: str, client_address: str) -> Challenge:
        try:
            phone = normalize_phone(raw_phone)
        except InvalidIdentifier as error:
            raise SignInRefused(Problem.INVALID_PHONE, "phone", str(error)) from error
        return await self.send_code(phone, client_address)

    async def send_code(
        self,
        phone: str,
        client_address: str,
        office_id: uuid.UUID | None = None,
        citizen_id: uuid.UUID | None = None,
    ) -> Challenge:
        """A new code to a normalised phone: for signing in, or (office_id) for that office
        to confirm the phone it adds to citizen_id. Both count against the same limits."""
        await self._limit(
            f"otp:request:address:{client_address}", self.settings.otp_requests_per_address
        )
        await self._limit(f"otp:request:phone:{phone}", self.settings.otp_requests_per_phone)
        code = new_code()
        challenge_id = uuid.uuid4()
        async with self.core.begin() as core:
            expires_at = await otp.create_challenge(
                core,
                challenge_id,
                phone,
                self.hasher.hash(challenge_id, code),
                self.code_ttl,
                office_id,
                citizen_id,
            )
            await _purge_now_and_then(core)
        purpose = CodePurpose.SIGN_IN if office_id is None else CodePurpose.ADD_PHONE
        try:
            await self.sender.send(phone, code, purpose)
        except DeliveryFailed as error:
            log.error("could not deliver a code: %s", error)
            raise SignInRefused(
                Problem.DELIVERY_FAILED, "phone", "the code could not be sent: try again shortly"
            ) from error
        return Challenge(challenge_id, phone, expires_at)

    async def limit_verifications(self, client_address: str) -> None:
        await self._limit(
            f"otp:verify:address:{client_address}", self.settings.otp_verifications_per_address
        )

    async def verify_code(self, raw_challenge_id: str, code: str, client_address: str) -> Session:
        await self.limit_verifications(client_address)
        try:
            challenge_id = uuid.UUID(raw_challenge_id)
        except ValueError as error:
            refusal = _CHALLENGE_REFUSALS[otp.ChallengeState.UNKNOWN]
            raise SignInRefused(refusal[0], "challengeId", refusal[1]) from error
        async with self.core.begin() as core:
            outcome = await self.check_code(core, challenge_id, code)
            if isinstance(outcome, SignInRefused):
                refused = outcome
            else:
                citizen_id, created = await ensure_citizen(core, outcome.phone)
                return await self._start_session(core, citizen_id, uuid.uuid4(), created)
        raise refused

    async def check_code(
        self,
        core: AsyncConnection,
        challenge_id: uuid.UUID,
        code: str,
        office_id: uuid.UUID | None = None,
    ) -> otp.Attempt | SignInRefused:
        """The challenge, consumed, when the code is right; the refusal otherwise (the
        attempt counts either way once the caller commits). office_id: the office's phone
        confirmations only; None: sign-in codes only."""
        maximum = self.settings.otp_max_attempts
        refusals = _CHALLENGE_REFUSALS if office_id is None else _CONFIRMATION_REFUSALS
        attempt = await otp.count_attempt(core, challenge_id, maximum, office_id)
        if attempt is None:
            problem, message = refusals[
                await otp.challenge_state(core, challenge_id, maximum, office_id)
            ]
            return SignInRefused(problem, "challengeId", message)
        if not self.hasher.matches(challenge_id, code.strip(), attempt.code_hash):
            left = maximum - attempt.attempts
            if left == 0:
                return SignInRefused(
                    Problem.TOO_MANY_ATTEMPTS, "code", "too many wrong codes: request a new one"
                )
            return SignInRefused(
                Problem.INVALID_CODE, "code", f"wrong code: {left} attempt(s) left"
            )
        if not await otp.consume(core, challenge_id):
            problem, message = refusals[otp.ChallengeState.USED]
            return SignInRefused(problem, "challengeId", message)
        return attempt

    def _successor(self, refresh_token: str) -> str:
        """The token that replaces a refresh token: derived from it, so that a retry of
        the same refresh gets the same one."""
        derived = self.hasher.derive("refresh-successor", refresh_token)
        return REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(derived).decode().rstrip("=")

    async def _start_session(
        self,
        core: AsyncConnection,
        citizen_id: uuid.UUID,
        family_id: uuid.UUID,
        created: bool,
        refresh_token: str | None = None,
        stored_already: bool = False,
    ) -> Session:
        refresh_token = refresh_token or REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        if stored_already:
            refresh_expires_at = await session.expiry_of(core, refresh_token_hash(refresh_token))
        else:
            refresh_expires_at = await session.store_token(
                core, refresh_token_hash(refresh_token), citizen_id, family_id, self.refresh_ttl
            )
        now = datetime.now(UTC)
        return Session(
            citizen_id=citizen_id,
            access_token=self.issuer.issue(citizen_id, now=now, session_id=family_id),
            access_token_expires_at=now + self.issuer.ttl,
            refresh_token=refresh_token,
            refresh_token_expires_at=refresh_expires_at,
            new_citizen=created,
        )

    async def refresh(self, refresh_token: str) -> Session:
        presented = refresh_token.strip()
        async with self.core.begin() as core:
            spent = await session.spend(core, refresh_token_hash(presented), self.reuse_grace)
            if isinstance(spent, session.SpentToken):
                return await self._start_session(
                    core,
                    spent.citizen_id,
                    spent.family_id,
                    False,
                    refresh_token=self._successor(presented),
                    stored_already=spent.again,
                )
        # Reached only on a refusal, after the transaction (and any family revocation) committed.
        if spent is session.Refusal.REUSED:
            log.warning("a refresh token was used twice: its whole session family is revoked")
        problem, message = _SESSION_REFUSALS[spent]
        raise SignInRefused(problem, "refreshToken", message)

    async def logout(self, refresh_token: str, everywhere: bool) -> None:
        async with self.core.begin() as core:
            family = await session.family_of(core, refresh_token_hash(refresh_token.strip()))
            if family is None:
                refused = SignInRefused(
                    Problem.INVALID_REFRESH_TOKEN, "refreshToken", "unknown refresh token"
                )
            elif everywhere:
                await session.revoke_citizen_sessions(core, family.citizen_id)
                return
            else:
                await session.revoke_family(core, family.family_id)
                return
        raise refused


async def _purge_now_and_then(core: AsyncConnection) -> None:
    """Old challenges and counters are useless; about one request in a hundred sweeps them."""
    if secrets.randbelow(100) == 0:
        await otp.purge_challenges(core, timedelta(days=1))
        await ratelimit.purge_counters(core, timedelta(days=1))
