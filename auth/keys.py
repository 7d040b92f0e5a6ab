"""ES256 signing keys: the newest signs, every one in the key directory verifies."""

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from models.config import Environment, Settings


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
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


def generate_key(keys_dir: Path) -> SigningKey:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = thumbprint(private_key.public_key())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = keys_dir / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return SigningKey(kid, private_key)


def _load(path: Path) -> SigningKey:
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError(f"{path} is not a P-256 (ES256) private key")
    return SigningKey(thumbprint(private_key.public_key()), private_key)


def load_keys(keys_dir: Path, *, create: bool) -> list[SigningKey]:
    """The keys in keys_dir, newest first; with create, make one when there is none."""
    paths = sorted(keys_dir.glob("*.pem"), key=lambda p: p.stat().st_mtime, reverse=True)
    keys = [_load(path) for path in paths] if keys_dir.is_dir() else []
    if not keys:
        if not create:
            raise FileNotFoundError(f"no ES256 signing key (*.pem) in {keys_dir}")
        keys = [generate_key(keys_dir)]
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
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_bytes().strip()
