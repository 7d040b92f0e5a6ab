"""Sessions: single-use refresh tokens, theft detection by reuse, and signing out."""

import asyncio
import time

import sqlalchemy as sa

from models.stores import Store

REFRESH = """mutation($token: String!) { refreshSession(refreshToken: $token) {
  session { accessToken refreshToken citizenId } userErrors { field code message } } }"""
LOGOUT = """mutation($token: String!, $everywhere: Boolean!) {
  logout(refreshToken: $token, everywhere: $everywhere) { signedOut userErrors { code } } }"""


async def refresh(graphql, token: str) -> dict:
    return (await graphql.query(REFRESH, {"token": token}))["data"]["refreshSession"]


async def logout(graphql, token: str, everywhere: bool = False) -> dict:
    body = await graphql.query(LOGOUT, {"token": token, "everywhere": everywhere})
    return body["data"]["logout"]


def refused_with(payload: dict) -> str:
    assert payload["session"] is None
    return payload["userErrors"][0]["code"]


async def test_a_refresh_token_buys_new_tokens_again_and_again(graphql, sign_in):
    session = await sign_in()
    token = session["refreshToken"]
    for _ in range(3):
        renewed = (await refresh(graphql, token))["session"]
        assert renewed["refreshToken"] != token
        assert renewed["citizenId"] == session["citizenId"]
        token = renewed["refreshToken"]

    me = await graphql.query("{ me { id } }", token=renewed["accessToken"])

    assert me["data"]["me"]["id"] == session["citizenId"]


async def test_reusing_a_refresh_token_revokes_the_whole_family(app_process, sign_in):
    session = await sign_in()
    stolen = session["refreshToken"]
    async with app_process(refresh_reuse_grace_seconds=0) as strict:
        legitimate_next = (await refresh(strict, stolen))["session"]["refreshToken"]

        replayed = await refresh(strict, stolen)
        after_theft = await refresh(strict, legitimate_next)

    assert refused_with(replayed) == "SESSION_REVOKED"
    assert refused_with(after_theft) == "SESSION_REVOKED"


async def test_reuse_in_one_session_leaves_the_citizens_other_sessions_alone(app_process, sign_in):
    phone_session = await sign_in()
    tablet_session = await sign_in()
    async with app_process(refresh_reuse_grace_seconds=0) as strict:
        await refresh(strict, phone_session["refreshToken"])
        await refresh(strict, phone_session["refreshToken"])

        tablet = await refresh(strict, tablet_session["refreshToken"])

    assert tablet["session"] is not None


async def test_logout_revokes_the_session(graphql, sign_in):
    session = await sign_in()
    renewed = (await refresh(graphql, session["refreshToken"]))["session"]

    signed_out = await logout(graphql, renewed["refreshToken"])

    assert signed_out == {"signedOut": True, "userErrors": []}
    assert refused_with(await refresh(graphql, renewed["refreshToken"])) == "SESSION_REVOKED"


async def test_logout_leaves_other_sessions_signed_in(graphql, sign_in):
    phone_session = await sign_in()
    tablet_session = await sign_in()

    await logout(graphql, phone_session["refreshToken"])

    assert (await refresh(graphql, tablet_session["refreshToken"]))["session"] is not None


async def test_logout_everywhere_revokes_every_session_of_the_citizen(graphql, sign_in):
    phone_session = await sign_in()
    tablet_session = await sign_in()
    someone_else = await sign_in("0987654321")

    await logout(graphql, phone_session["refreshToken"], everywhere=True)

    assert refused_with(await refresh(graphql, tablet_session["refreshToken"])) == "SESSION_REVOKED"
    assert (await refresh(graphql, someone_else["refreshToken"]))["session"] is not None


async def test_an_unknown_refresh_token_is_refused(graphql):
    payload = await refresh(graphql, "hgr_not-a-real-token")

    assert refused_with(payload) == "INVALID_REFRESH_TOKEN"
    assert (await logout(graphql, "hgr_not-a-real-token"))["signedOut"] is False


async def test_an_expired_refresh_token_is_refused(graphql, sign_in, engines):
    session = await sign_in()
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.text("UPDATE core.refresh_tokens SET expires_at = now()"))

    assert refused_with(await refresh(graphql, session["refreshToken"])) == "INVALID_REFRESH_TOKEN"


async def test_refresh_tokens_are_stored_only_as_hashes(sign_in, engines):
    session = await sign_in()

    async with engines[Store.CORE].connect() as core:
        stored = (
            await core.execute(sa.text("SELECT token_hash FROM core.refresh_tokens"))
        ).scalars()
        hashes = list(stored)

    assert len(hashes) == 1
    assert session["refreshToken"] not in hashes[0]
    assert session["refreshToken"][4:] not in hashes[0]


async def test_two_simultaneous_refreshes_get_the_same_new_tokens(graphql, sign_in):
    session = await sign_in()

    first, second = await asyncio.gather(
        refresh(graphql, session["refreshToken"]), refresh(graphql, session["refreshToken"])
    )

    assert first["userErrors"] == second["userErrors"] == []
    assert first["session"]["refreshToken"] == second["session"]["refreshToken"]
    assert first["session"]["refreshToken"] != session["refreshToken"]
    following = await refresh(graphql, second["session"]["refreshToken"])
    assert following["session"] is not None
    me = await graphql.query("{ me { id } }", token=second["session"]["accessToken"])
    assert me["data"]["me"]["id"] == session["citizenId"]


async def test_a_retry_within_the_grace_period_gets_the_same_tokens(graphql, sign_in):
    session = await sign_in()

    first = (await refresh(graphql, session["refreshToken"]))["session"]
    retried = (await refresh(graphql, session["refreshToken"]))["session"]

    assert retried["refreshToken"] == first["refreshToken"]


async def test_access_tokens_of_a_signed_out_session_stop_working_in_every_process(
    graphql, sign_in, app_process
):
    signed_out = await sign_in()
    other = await sign_in()
    async with app_process(revocation_refresh_seconds=0.2) as elsewhere:
        before = await elsewhere.query("{ me { id } }", token=signed_out["accessToken"])
        await logout(graphql, signed_out["refreshToken"])
        deadline = time.monotonic() + 10
        while True:
            after = await elsewhere.query("{ me { id } }", token=signed_out["accessToken"])
            if "errors" in after or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        still = await elsewhere.query("{ me { id } }", token=other["accessToken"])

    assert before["data"]["me"]["id"] == signed_out["citizenId"]
    assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "signed out" in after["errors"][0]["message"]
    assert still["data"]["me"]["id"] == other["citizenId"]
