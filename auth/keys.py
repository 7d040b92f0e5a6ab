"""ES256 signing keys, one directory per purpose: the newest active key signs, every key
in the directory verifies and is published.

A key is a `<thumbprint>.pem` file. `healthgraph keys rotate` adds one with a
`<thumbprint>.json` beside it that says from when it signs (`active_from`): it is
published at once, so that verifiers holding a cached key set know it before the
first credential it signs. A key without that file has always been active. Of
the active keys, the one activated last (or, without an activation time, the
newest file) signs. A `KeyRing` rereads its directory when the directory changes,
so a rotation reaches running processes without a restart (within a second: the
directory is looked at no more than once a second, not on every verification).
"""

import base64
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from models.config import Environment, Settings


class KeyPurpose(StrEnum):
    """What a key signs; a key of one purpose never verifies a credential of another."""

    ACCESS = "access"
    PASS = "pass"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    purpose: KeyPurpose = KeyPurpose.ACCESS
    # None: active since it was made.
    active_from: datetime | None = None
    # Orders keys: the activation time, else the file's modification time.
    since: float = 0.0

    @cached_property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        # Made once: every token verification uses it.
        return self.private_key.public_key()

    def active_at(self, moment: datetime) -> bool:
        return self.active_from is None or self.active_from <= moment

    def jwk(self) -> dict[str, Any]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "key_ops": ["verify"],
            "alg": "ES256",
            "kid": self.kid,
            # Not a registered JWK member: which credentials this key verifies.
            "purpose": self.purpose.value,
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint, used as the key ID."""
    numbers = public_key.public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64(hashlib.sha256(canonical).digest())


def key_id(purpose: KeyPurpose, public_key: ec.EllipticCurvePublicKey) -> str:
    """The thumbprint; pass keys carry a prefix so no kid is ever shared across purposes."""
    kid = thumbprint(public_key)
    return kid if purpose is KeyPurpose.ACCESS else f"{purpose.value}-{kid}"


def generate_key(
    keys_dir: Path,
    purpose: KeyPurpose = KeyPurpose.ACCESS,
    active_from: datetime | None = None,
) -> SigningKey:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = thumbprint(private_key.public_key())
    if active_from is not None:
        # Written before the key itself, so no reader ever sees the key without it.
        meta = json.dumps({"active_from": active_from.astimezone(UTC).isoformat()})
        _write_new(keys_dir / f"{name}.json", meta.encode())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = keys_dir / f"{name}.pem"
    _write_new(keys_dir / f".{name}.pem.tmp", pem)
    os.rename(keys_dir / f".{name}.pem.tmp", path)
    return _load(path, purpose)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load(path: Path, purpose: KeyPurpose) -> SigningKey:
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError(f"{path} is not a P-256 (ES256) private key")
    active_from = None
    meta = path.with_suffix(".json")
    if meta.exists():
        active_from = datetime.fromisoformat(json.loads(meta.read_text())["active_from"])
    since = active_from.timestamp() if active_from else path.stat().st_mtime
    return SigningKey(
        key_id(purpose, private_key.public_key()), private_key, purpose, active_from, since
    )


def load_keys(
    keys_dir: Path, *, create: bool, purpose: KeyPurpose = KeyPurpose.ACCESS
) -> list[SigningKey]:
    """The keys in keys_dir, newest first; with create, make one when there is none."""
    paths = keys_dir.glob("*.pem") if keys_dir.is_dir() else []
    keys = sorted((_load(path, purpose) for path in paths), key=lambda k: k.since, reverse=True)
    if not keys:
        if not create:
            raise FileNotFoundError(f"no ES256 signing key (*.pem) in {keys_dir}")
        keys = [generate_key(keys_dir, purpose)]
    return keys


def service_secret(
    settings: Settings, configured: SecretStr | None, file_name: str, variable: str
) -> bytes:
    """A symmetric secret from its setting; in development, one generated once under the
    data dir so that every worker process shares it."""
    if configured is not None:
        return configured.get_secret_value().encode()
    if settings.env is not Environment.DEVELOPMENT:
        raise RuntimeError(f"set {variable} (at least 16 characters) in production")
    path = settings.data_dir / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then linked into place: workers starting
        # together all read the one secret that got there first, never a half-written file.
        written = path.with_name(f".{file_name}.{os.getpid()}.{secrets.token_hex(4)}")
        _write_new(written, secrets.token_urlsafe(32).encode())
        try:
            os.link(written, path)
        except FileExistsError:
            pass
        finally:
            written.unlink()
    return path.read_bytes().strip()


# How often a ring looks at its directory for a rotation.
RECHECK_SECONDS = 1.0


class KeyRing:
    """The keys of one purpose, reread whenever their directory changes."""

    def __init__(
        self, keys_dir: Path | None, purpose: KeyPurpose, keys: list[SigningKey] | None = None
    ) -> None:
        self.keys_dir = keys_dir
        self.purpose = purpose
        self._keys = keys or []
        self._seen: int | None = None
        # time.monotonic() before which the directory is not looked at again.
        self._next_check = 0.0

    @classmethod
    def load(cls, keys_dir: Path, purpose: KeyPurpose, *, create: bool) -> "KeyRing":
        ring = cls(keys_dir, purpose, load_keys(keys_dir, create=create, purpose=purpose))
        ring._seen = keys_dir.stat().st_mtime_ns
        return ring

    @classmethod
    def fixed(cls, keys: list[SigningKey]) -> "KeyRing":
        """These keys only (newest first), never reread."""
        if not keys:
            raise ValueError("at least one signing key is needed")
        return cls(None, keys[0].purpose, keys)

    def keys(self) -> list[SigningKey]:
        """Every key, newest first: all of them verify and are published."""
        if self.keys_dir is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + RECHECK_SECONDS
            seen = self.keys_dir.stat().st_mtime_ns
            if seen != self._seen:
                self._keys = load_keys(self.keys_dir, create=False, purpose=self.purpose)
                self._seen = seen
        return self._keys

    def signing_key(self, now: datetime | None = None) -> SigningKey:
        now = now or datetime.now(UTC)
        keys = self.keys()
        return next((key for key in keys if key.active_at(now)), keys[-1])

    def by_kid(self, kid: object) -> SigningKey | None:
        return next((key for key in self.keys() if key.kid == kid), None)

    def jwks(self) -> list[dict[str, Any]]:
        return [key.jwk() for key in self.keys()]
