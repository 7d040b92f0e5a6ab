"""Pass keys rotate: a new key is published before it signs, and old passes keep verifying."""

import asyncio
import shutil

import jwt

from auth.keys import RECHECK_SECONDS, KeyPurpose, generate_key
from tests.test_health_pass import health_pass, vaccinated_citizen, verify


async def pass_kids(app) -> set[str]:
    jwks = (await app.http.get("/.well-known/jwks.json")).json()
    return {key["kid"] for key in jwks["keys"] if key["purpose"] == "pass"}


def kid_of(shown: dict) -> str:
    return str(jwt.get_unverified_header(shown["credential"])["kid"])


async def test_a_rotated_key_is_published_first_and_old_passes_keep_verifying(
    app_process, given, partners, healthgraph, tmp_path
):
    keys = tmp_path / "pass-keys"
    first = generate_key(keys, KeyPurpose.PASS)
    scanner = await partners.create("pass:verify")
    early, meanwhile, late = [
        await vaccinated_citizen(given, national_id=f"02409000{n:04d}", phone=f"091200{n:04d}")
        for n in range(3)
    ]

    async with app_process(pass_keys_dir=keys) as app:
        before = await health_pass(app, early)
        code, out, _ = await healthgraph(
            "keys", "rotate", "--purpose", "pass", "--activate-in", "24", pass_keys_dir=str(keys)
        )
        # A ring looks at its directory at most once a second.
        await asyncio.sleep(RECHECK_SECONDS + 0.1)
        published = await pass_kids(app)
        still_first = await health_pass(app, meanwhile)
        await healthgraph(
            "keys", "rotate", "--purpose", "pass", "--activate-in", "0", pass_keys_dir=str(keys)
        )
        # The process notices a new key by its directory's change time: let the clock move on.
        await asyncio.sleep(RECHECK_SECONDS + 0.1)
        after = await health_pass(app, late)
        old_pass = (await verify(app, scanner.token, before["credential"]))["data"]
        new_pass = (await verify(app, scanner.token, after["credential"]))["data"]

    assert code == 0 and "published now" in out
    assert len(published) == 2 and first.kid in published
    assert kid_of(before) == kid_of(still_first) == first.kid
    assert kid_of(after) not in published | {first.kid}
    assert old_pass["verifyHealthPass"]["result"] == "VALID"
    assert new_pass["verifyHealthPass"]["result"] == "VALID"


async def test_a_pass_whose_key_was_removed_is_forged(app_process, given, partners, tmp_path):
    keys = tmp_path / "pass-keys"
    generate_key(keys, KeyPurpose.PASS)
    citizen = await vaccinated_citizen(given)
    scanner = await partners.create("pass:verify")

    async with app_process(pass_keys_dir=keys) as app:
        shown = await health_pass(app, citizen)
        retired = tmp_path / "retired"
        shutil.move(keys, retired)
        generate_key(keys, KeyPurpose.PASS)
        # A ring looks at its directory at most once a second.
        await asyncio.sleep(RECHECK_SECONDS + 0.1)
        checked = (await verify(app, scanner.token, shown["credential"]))["data"]

    assert checked["verifyHealthPass"]["result"] == "FORGED"


async def test_access_and_pass_keys_are_published_apart(client):
    jwks = (await client.get("/.well-known/jwks.json")).json()

    purposes = {key["purpose"] for key in jwks["keys"]}
    kids = [key["kid"] for key in jwks["keys"]]

    assert purposes == {"access", "pass"}
    assert len(kids) == len(set(kids))
    assert all(key["use"] == "sig" and key["key_ops"] == ["verify"] for key in jwks["keys"])
    assert all("d" not in key for key in jwks["keys"])
