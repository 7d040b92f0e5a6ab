"""The codes printed as QR: a venue's poster and a citizen's personal card.

A code is `HG:<kind>:<id>:<signature>`, where the signature is the first 80 bits of
HMAC-SHA256 (key: HEALTHGRAPH_QR_SECRET) over the kind and the ID, in base 32. Everything
stays in QR's alphanumeric alphabet (upper case, digits, `-` and `:`), so a venue code
of 35 characters fits a version-2 symbol (25 x 25 modules) at error-correction level M.
Only this service checks the codes, so a shared-key MAC is enough: an Ed25519 or
ECDSA signature (64 bytes, ~103 base-32 characters) would need a version-5 symbol for
nothing gained. 80 bits leave a forger one chance in 10²⁴ per guess.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from auth.keys import service_secret
from models.config import Settings

PREFIX = "HG"
_SIGNATURE_BYTES = 10
_ID = re.compile(r"[0-9A-Z][0-9A-Z-]{0,39}")


class CodeKind(StrEnum):
    VENUE = "V"
    PERSONAL = "P"


class InvalidCode(ValueError):
    """Not a code this service issued (or it was altered)."""


@dataclass(frozen=True)
class SignedCode:
    kind: CodeKind
    id: str


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def new_serial() -> str:
    """An opaque, random personal-card serial (80 bits)."""
    return _b32(secrets.token_bytes(10))


class QrSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the QR secret must be at least 16 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> "QrSigner":
        return cls(
            service_secret(settings, settings.qr_secret, "qr-secret", "HEALTHGRAPH_QR_SECRET")
        )

    def _signature(self, kind: CodeKind, id: str) -> str:
        mac = hmac.new(self._key, f"{kind.value}:{id}".encode(), hashlib.sha256).digest()
        return _b32(mac[:_SIGNATURE_BYTES])

    def sign(self, kind: CodeKind, id: str) -> str:
        if not _ID.fullmatch(id):
            raise ValueError("a code ID is upper-case letters, digits and dashes")
        return f"{PREFIX}:{kind.value}:{id}:{self._signature(kind, id)}"

    def verify(self, payload: str, kind: CodeKind) -> str:
        """The ID in a code of this kind that this service signed; else InvalidCode."""
        parts = payload.strip().upper().split(":")
        if len(parts) != 4 or parts[0] != PREFIX or not _ID.fullmatch(parts[2]):
            raise InvalidCode("not a code issued by this service")
        _, found_kind, id, signature = parts
        if found_kind != kind.value:
            raise InvalidCode("a code of another kind")
        if not hmac.compare_digest(signature, self._signature(kind, id)):
            raise InvalidCode("the code's signature does not match: forged or altered")
        return id
