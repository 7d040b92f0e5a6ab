"""Sign-in codes: six digits from a cryptographic source, kept only as a keyed hash."""

import hashlib
import hmac
import secrets
import uuid

from auth.keys import service_secret
from models.config import Settings

CODE_LENGTH = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


class CodeHasher:
    """HMAC-SHA256 under a server secret: a copy of the table alone cannot be brute-forced,
    though a million codes would take no time to try against a plain hash."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("the OTP secret must be at least 16 bytes")
        self._pepper = pepper

    def hash(self, challenge_id: uuid.UUID, code: str) -> str:
        message = f"{challenge_id}:{code}".encode()
        return hmac.new(self._pepper, message, hashlib.sha256).hexdigest()

    def matches(self, challenge_id: uuid.UUID, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.hash(challenge_id, code), stored)

    def derive(self, label: str, value: str) -> bytes:
        """A value only this service can compute from another (same secret, same result)."""
        return hmac.new(self._pepper, f"{label}:{value}".encode(), hashlib.sha256).digest()


def load_pepper(settings: Settings) -> bytes:
    """HEALTHGRAPH_OTP_SECRET; in development, a secret generated once under the data dir."""
    return service_secret(settings, settings.otp_secret, "otp-secret", "HEALTHGRAPH_OTP_SECRET")
