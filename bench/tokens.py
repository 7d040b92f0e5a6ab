"""What checking a token the process has never seen costs: the service's check
(`TokenIssuer._verify_signed`, on auth/jws.py's decoder), the same call on PyJWT's own
decoder, and the bare ES256 signature check (cryptography, no JWT at all), side by side.

    .venv/bin/python -m bench.tokens
"""

import argparse
import base64
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from unittest import mock

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from auth import tokens
from auth.keys import KeyPurpose, KeyRing, generate_key
from auth.tokens import TokenIssuer


def _cpu_per_token(
    check: Callable[[str], object], batch: list[str], decoder: jwt.PyJWT | None
) -> float:
    with mock.patch.object(tokens, "decoder", decoder) if decoder else nullcontext():
        started = time.process_time()
        for token in batch:
            check(token)
        return (time.process_time() - started) / len(batch) * 1e6


def measure(rounds: int, per_round: int) -> dict[str, list[float]]:
    keys = Path(tempfile.mkdtemp(prefix="healthgraph-bench-keys-"))
    generate_key(keys)
    issuer = TokenIssuer(
        KeyRing.load(keys, KeyPurpose.ACCESS, create=False),
        "healthgraph",
        "healthgraph-app",
        timedelta(minutes=15),
    )
    public_key = issuer.keys[0].public_key
    algorithm = ec.ECDSA(hashes.SHA256())

    def signature_only(token: str) -> None:
        signing_input, _, signature = token.rpartition(".")
        raw = base64.urlsafe_b64decode(signature + "==")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public_key.verify(der, signing_input.encode(), algorithm)

    checks: dict[str, tuple[Callable[[str], object], jwt.PyJWT | None]] = {
        "the service's check": (issuer._verify_signed, None),
        "the same on PyJWT's own decoder": (issuer._verify_signed, jwt.PyJWT()),
        "the ES256 signature alone": (signature_only, None),
    }
    figures: dict[str, list[float]] = {name: [] for name in checks}
    for _ in range(rounds):
        for name, (check, decoder) in checks.items():
            batch = [issuer.issue(uuid.uuid4()) for _ in range(per_round)]
            figures[name].append(_cpu_per_token(check, batch, decoder))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=2000, help="new tokens per round")
    args = parser.parse_args()
    figures = measure(args.rounds, args.tokens)
    print("| check of a new token | CPU µs per token (median) | rounds |")
    print("|---|---|---|")
    for name, values in figures.items():
        rounds = " ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {statistics.median(values):.1f} | {rounds} |")


if __name__ == "__main__":
    main()
