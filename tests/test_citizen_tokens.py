"""`me` answers only to a valid citizen access token."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.tokens import InvalidToken

ME = "{ me { fullName } }"


async def test_a_valid_token_reads_me(graphql, given):
    citizen = await given.citizen(full_name="Lê Thị Cúc")

    body = await graphql.query(ME, as_citizen=citizen)

    assert body == {"data": {"me": {"fullName": "Lê Thị Cúc"}}}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_a_malformed_token_is_unauthenticated(graphql, token):
    body = await graphql.query(ME, token=token)

    assert body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_expired_token_is_unauthenticated(graphql, given, issuer):
    citizen = await given.citizen()
    expired = issuer.issue(citizen, now=datetime.now(UTC) - timedelta(hours=1))

    body = await graphql.query(ME, token=expired)

    assert body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


async def test_a_token_for_a_citizen_that_no_longer_exists_reads_nothing(graphql):
    body = await graphql.query(ME, as_citizen=uuid.uuid4())

    assert body["data"]["me"] is None


async def test_a_remembered_token_still_stops_working_when_it_expires(given, issuer):
    citizen = await given.citizen()
    soon = datetime.now(UTC) - issuer.ttl + timedelta(seconds=1)
    token = issuer.issue(citizen, now=soon)
    assert issuer.verify(token).citizen_id == citizen

    await asyncio.sleep(1.2)
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token)
