"""PyJWT's decoder, with its check of each segment's characters made in C.

PyJWT refuses a segment holding anything but the base64url alphabet (or a padding
that does not belong) before decoding it: a sound check, but made one character
at a time in a Python generator, which on a token of some 400 characters costs
about as much as the ES256 signature check itself. This decoder makes the same
checks with `bytes.translate`, and reads the payload (signed, so ours) with orjson
through PyJWT's hook for it; everything else (signature, algorithms, claims) is
PyJWT's own.
"""

import base64
import binascii
from typing import Any

import jwt
import orjson
from jwt.exceptions import DecodeError

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def decode_segment(segment: bytes, name: str) -> bytes:
    """A segment's bytes; DecodeError for what PyJWT refuses: more than two `=`, padding
    on a segment whose length is not a multiple of four, a character outside the
    alphabet, a length no encoding has, or bits set past the last byte."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4):
        raise DecodeError(f"Invalid {name} padding")
    if len(stripped) % 4 == 1 or stripped.translate(None, _ALPHABET):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64.urlsafe_b64decode(stripped + b"=" * (-len(stripped) % 4))
    except binascii.Error as error:
        raise DecodeError(f"Invalid {name} padding") from error
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


class _SegmentsInC(jwt.PyJWS):
    _decode_base64url_segment = staticmethod(decode_segment)


class Decoder(jwt.PyJWT):
    """`jwt.decode` with the segment check above."""

    def __init__(self) -> None:
        super().__init__()
        self._jws = _SegmentsInC(options=self._get_sig_options())

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = orjson.loads(decoded["payload"])
        except orjson.JSONDecodeError as error:
            raise DecodeError(f"Invalid payload string: {error}") from error
        if not isinstance(payload, dict):
            raise DecodeError("Invalid payload string: must be a json object")
        return payload


decoder = Decoder()
