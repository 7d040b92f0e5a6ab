"""The token decoder reads a segment exactly as PyJWT's own check does, accepting and
refusing the same segments, only faster."""

import string
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jwt.exceptions import DecodeError

from auth.jws import decode_segment
from auth.keys import KeyPurpose, KeyRing, generate_key
from auth.tokens import InvalidToken, TokenIssuer

BASE64URL = string.ascii_letters + string.digits + "-_"


def _pyjwt(segment: bytes) -> bytes | None:
    try:
        return jwt.PyJWS._decode_base64url_segment(segment, "payload")
    except DecodeError:
        return None


def _ours(segment: bytes) -> bytes | None:
    try:
        return decode_segment(segment, "payload")
    except DecodeError:
        return None


segments = st.one_of(
    st.binary(max_size=24),
    st.text(alphabet=BASE64URL + "=+/!. \n", max_size=24).map(str.encode),
    st.text(alphabet=BASE64URL, max_size=24).map(str.encode),
    st.builds(
        lambda body, pad: body + b"=" * pad,
        st.text(alphabet=BASE64URL, max_size=24).map(str.encode),
        st.integers(0, 4),
    ),
)


@given(segments)
def test_a_segment_is_read_as_pyjwt_reads_it(segment: bytes) -> None:
    assert _ours(segment) == _pyjwt(segment)


@pytest.mark.parametrize(
    "segment",
    [b"!!!!", b"eyJ+", b"eyJ/", b"e", b"eyJ9===", b"ey=J", b"eyJ9=", b"eyK\x00", b"QR=="],
)
def test_a_segment_outside_the_alphabet_or_badly_padded_is_refused(segment: bytes) -> None:
    assert _pyjwt(segment) is None
    with pytest.raises(DecodeError):
        decode_segment(segment, "payload")


def test_a_well_formed_segment_is_decoded() -> None:
    assert decode_segment(b"eyJhIjoxfQ", "payload") == b'{"a":1}'
    assert decode_segment(b"eyJhIjoxfQ==", "payload") == b'{"a":1}'


@pytest.fixture
def issuer(tmp_path) -> TokenIssuer:
    generate_key(tmp_path)
    ring = KeyRing.load(tmp_path, KeyPurpose.ACCESS, create=False)
    return TokenIssuer(ring, "healthgraph", "healthgraph-app", timedelta(minutes=15))


def test_a_token_with_junk_in_its_signature_segment_is_refused(issuer: TokenIssuer) -> None:
    token = issuer.issue(uuid.uuid4())
    assert issuer.verify(token).expires_at.timestamp() > time.time()
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidToken):
        issuer.verify(f"{header}.{payload}.{signature[:-2]}!!")


def test_a_token_with_junk_in_its_payload_segment_is_refused(issuer: TokenIssuer) -> None:
    header, payload, signature = issuer.issue(uuid.uuid4()).split(".")
    with pytest.raises(InvalidToken):
        issuer.verify(f"{header}.{payload}+.{signature}")


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b'"a string"'])
def test_a_signed_payload_that_is_not_a_json_object_is_refused(issuer, payload) -> None:
    key = issuer.keys[0]
    token = jwt.PyJWS().encode(
        payload, key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"}
    )

    with pytest.raises(InvalidToken):
        issuer.verify(token)
