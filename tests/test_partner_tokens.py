"""Partner tokens authenticate partner systems until they expire or are revoked."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from auth import partners as partner_tokens
from models.stores import Store

READ = """query($id: ID!) { citizen(id: $id) { fullName vaccinations { vaccine { code } } } }"""


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def consenting_citizen(given, partners, partner) -> str:
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")
    return str(citizen)


async def test_a_partner_token_reads_under_consent(graphql, given, partners):
    partner = await partners.create("citizen:read:vaccinations")
    citizen = await consenting_citizen(given, partners, partner)

    body = await graphql.query(READ, {"id": citizen}, token=partner.token)

    assert body == {
        "data": {
            "citizen": {
                "fullName": "Nguyễn Văn An",
                "vaccinations": [{"vaccine": {"code": "AZD1222"}}],
            }
        }
    }


async def test_a_revoked_partner_is_refused_on_the_next_request(graphql, given, partners, engines):
    partner = await partners.create("citizen:read:vaccinations", name="Clinic")
    citizen = await consenting_citizen(given, partners, partner)
    before = await graphql.query(READ, {"id": citizen}, token=partner.token)
    async with engines[Store.CORE].begin() as core:
        await partner_tokens.revoke(core, "Clinic")

    after = await graphql.query(READ, {"id": citizen}, token=partner.token)

    assert before["data"]["citizen"] is not None
    assert after["data"]["citizen"] is None
    assert code_of(after) == "UNAUTHENTICATED"
    assert "revoked" in after["errors"][0]["message"]


async def test_a_rotated_out_token_is_refused_and_the_new_one_works(
    graphql, given, partners, engines
):
    partner = await partners.create("citizen:read:vaccinations", name="Clinic")
    citizen = await consenting_citizen(given, partners, partner)
    async with engines[Store.CORE].begin() as core:
        rotated = await partner_tokens.rotate(core, "Clinic")

    old = await graphql.query(READ, {"id": citizen}, token=partner.token)
    new = await graphql.query(READ, {"id": citizen}, token=rotated.token)

    assert code_of(old) == "UNAUTHENTICATED"
    assert new["data"]["citizen"] is not None


async def test_an_expired_partner_token_is_refused(graphql, given, partners, engines):
    partner = await partners.create(
        "citizen:read:vaccinations", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    citizen = await consenting_citizen(given, partners, partner)
    live = await graphql.query(READ, {"id": citizen}, token=partner.token)
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.text("UPDATE core.partner_tokens SET expires_at = now()"))

    expired = await graphql.query(READ, {"id": citizen}, token=partner.token)

    assert live["data"]["citizen"] is not None
    assert code_of(expired) == "UNAUTHENTICATED"


async def test_an_unknown_partner_token_is_refused(graphql, given):
    citizen = await given.citizen()

    body = await graphql.query(READ, {"id": str(citizen)}, token="hgp_" + "x" * 43)

    assert code_of(body) == "UNAUTHENTICATED"


async def test_partner_tokens_are_stored_only_as_hashes(partners, engines):
    partner = await partners.create("testing:write")

    async with engines[Store.CORE].connect() as core:
        stored = (
            await core.execute(sa.text("SELECT token_hash, prefix FROM core.partner_tokens"))
        ).one()

    assert partner.token not in stored.token_hash
    assert partner.token.startswith(stored.prefix)
    assert len(stored.prefix) < 16


async def test_a_partner_is_not_a_citizen(graphql, partners):
    partner = await partners.create("citizen:read:vaccinations")

    body = await graphql.query("{ me { fullName } }", token=partner.token)

    assert body["data"]["me"] is None
    assert code_of(body) == "FORBIDDEN"
