"""Sign-in codes: six digits from a cryptographic source, kept only as a keyed hash."""

import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path

from models.config import Environment, Settings

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


def _secret_file(settings: Settings) -> Path:
    return settings.data_dir / "otp-secret"


def load_pepper(settings: Settings) -> bytes:
    """HEALTHGRAPH_OTP_SECRET; in development, a secret generated once under the data dir
    so that every worker process shares it."""
    if settings.otp_secret is not None:
        return settings.otp_secret.get_secret_value().encode()
    if settings.env is not Environment.DEVELOPMENT:
        raise RuntimeError("set HEALTHGRAPH_OTP_SECRET (at least 16 characters) in production")
    path = _secret_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_bytes().strip()
