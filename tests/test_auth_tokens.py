"""Only access tokens this service signed, unaltered and in date, are accepted.

Every forgery below is built by the same function that, given the legitimate
values, builds a token the service accepts: the refusal is due to the one
thing each case changes.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auth.keys import KeyRing, generate_key, thumbprint
from auth.tokens import TokenIssuer

ME = "{ me { fullName } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(issuer: TokenIssuer, citizen: uuid.UUID, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": str(citizen),
        "iat": now,
        "nbf": now,
        "exp": now + 900,
    }
    claims.update(changes)
    return claims


def es256(issuer: TokenIssuer, citizen: uuid.UUID, *, key=None, kid=None, **changes) -> str:
    signing = issuer.keys[0]
    return jwt.encode(
        _claims(issuer, citizen, **changes),
        key or signing.private_key,
        algorithm="ES256",
        headers={"kid": kid or signing.kid, "typ": "at+jwt"},
    )


def handmade(issuer: TokenIssuer, citizen: uuid.UUID, alg: str, secret: bytes | None) -> str:
    """A JWS assembled by hand, for algorithms no honest library would let us misuse."""
    header = {"alg": alg, "typ": "at+jwt", "kid": issuer.keys[0].kid}
    signing_input = (
        _b64(json.dumps(header).encode())
        + "."
        + _b64(json.dumps(_claims(issuer, citizen)).encode())
    )
    signature = (
        b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    )
    return signing_input + "." + _b64(signature)


def public_pem(issuer: TokenIssuer) -> bytes:
    return issuer.keys[0].public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def tamper(token: str, citizen: uuid.UUID) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(citizen)
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return ".".join([header, _b64(payload), signature])


async def _me(graphql, token: str) -> dict[str, Any]:
    return await graphql.query(ME, token=token)


def _refused(body: dict[str, Any]) -> bool:
    return (
        body["data"]["me"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    )


async def test_the_legitimate_construction_is_accepted(graphql, given, issuer):
    citizen = await given.citizen(full_name="Lê Thị Cúc")

    body = await _me(graphql, es256(issuer, citizen))

    assert body == {"data": {"me": {"fullName": "Lê Thị Cúc"}}}


@pytest.mark.parametrize(
    ("case", "changes", "twin"),
    [
        ("expired", {"exp": -60, "iat": -960, "nbf": -960}, {"exp": 60, "iat": -840, "nbf": -840}),
        ("not yet valid", {"nbf": 600, "iat": 600}, {"nbf": -5, "iat": -5}),
        ("wrong issuer", {"iss": "someone-else"}, {}),
        ("wrong audience", {"aud": "another-app"}, {}),
    ],
)
async def test_claims_out_of_bounds_are_refused(graphql, given, issuer, case, changes, twin):
    citizen = await given.citizen()
    now = int(time.time())

    def relative(values: dict[str, Any]) -> dict[str, Any]:
        return {k: now + v if isinstance(v, int) else v for k, v in values.items()}

    forged = await _me(graphql, es256(issuer, citizen, **relative(changes)))
    honest = await _me(graphql, es256(issuer, citizen, **relative(twin)))

    assert _refused(forged), case
    assert honest["data"]["me"] is not None, case


async def test_a_tampered_payload_is_refused(graphql, given, issuer):
    victim = await given.citizen(full_name="Trần Thị Bình")
    attacker = await given.citizen()
    token = es256(issuer, attacker)

    forged = await _me(graphql, tamper(token, victim))
    untouched = await _me(graphql, tamper(token, attacker))

    assert _refused(forged)
    assert "Bình" not in str(forged)
    assert untouched["data"]["me"] is not None


async def test_alg_none_is_refused(graphql, given, issuer):
    citizen = await given.citizen()

    body = await _me(graphql, handmade(issuer, citizen, "none", None))

    assert _refused(body)


async def test_hs256_signed_with_the_public_key_is_refused(graphql, given, issuer):
    citizen = await given.citizen()
    # What a verifier that let the token pick its algorithm would accept.
    token = handmade(issuer, citizen, "HS256", public_pem(issuer))

    body = await _me(graphql, token)

    assert _refused(body)


async def test_an_unknown_key_is_refused_whatever_kid_it_claims(graphql, given, issuer):
    citizen = await given.citizen()
    stranger = ec.generate_private_key(ec.SECP256R1())
    own_kid = issuer.keys[0].kid

    unknown_kid = await _me(
        graphql, es256(issuer, citizen, key=stranger, kid=thumbprint(stranger.public_key()))
    )
    borrowed_kid = await _me(graphql, es256(issuer, citizen, key=stranger, kid=own_kid))
    honest = await _me(graphql, es256(issuer, citizen, kid=own_kid))

    assert _refused(unknown_kid)
    assert "unknown signing key" in unknown_kid["errors"][0]["message"]
    assert _refused(borrowed_kid)
    assert honest["data"]["me"] is not None


async def test_keys_rotate_without_signing_anyone_out(app_process, given, issuer, tmp_path):
    keys_dir = tmp_path / "keys"
    old = generate_key(keys_dir)
    citizen = await given.citizen(full_name="Lê Thị Cúc")
    token_before = TokenIssuer(
        KeyRing.fixed([old]), issuer.issuer, issuer.audience, issuer.ttl
    ).issue(citizen)
    new = generate_key(keys_dir)
    os.utime(keys_dir / f"{new.kid}.pem", (time.time() + 5, time.time() + 5))

    async with app_process(jwt_keys_dir=keys_dir) as after_rotation:
        still_valid = await after_rotation.query(ME, token=token_before)
        jwks = (await after_rotation.http.get("/.well-known/jwks.json")).json()

    assert still_valid["data"]["me"] == {"fullName": "Lê Thị Cúc"}
    access_keys = [key for key in jwks["keys"] if key["purpose"] == "access"]
    assert {key["kid"] for key in access_keys} == {old.kid, new.kid}
    assert all(key["alg"] == "ES256" and "d" not in key for key in jwks["keys"])


def test_the_newest_key_signs_and_every_key_verifies(settings, tmp_path):
    keys_dir = tmp_path / "keys"
    old = generate_key(keys_dir)
    new = generate_key(keys_dir)
    os.utime(keys_dir / f"{new.kid}.pem", (time.time() + 5, time.time() + 5))
    issuer = TokenIssuer.from_settings(settings.model_copy(update={"jwt_keys_dir": keys_dir}))
    citizen = uuid.uuid4()

    token = issuer.issue(citizen)
    from_old = TokenIssuer(KeyRing.fixed([old]), issuer.issuer, issuer.audience, issuer.ttl).issue(
        citizen
    )

    assert jwt.get_unverified_header(token)["kid"] == new.kid
    assert issuer.verify(from_old).citizen_id == citizen
    assert issuer.verify(token).citizen_id == citizen
