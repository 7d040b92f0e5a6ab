"""Every read of a citizen's data by a partner is written down, and the citizen sees it."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from strawberry import relay

from api.pagination import encode_cursor
from models.stores import Store

READ = """query($id: ID!) { citizen(id: $id) { fullName vaccinations { id } } }"""
LOG = """query($first: Int, $after: String) { me { accessLog(first: $first, after: $after) {
  edges { cursor node { actorKind actorName action sections requestId at } }
  pageInfo { hasNextPage endCursor } } } }"""


def node_id(citizen: uuid.UUID) -> str:
    return str(relay.GlobalID("Citizen", str(citizen)))


async def consenting(given, partners, name: str = "Bệnh viện Phổi"):
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    partner = await partners.create("citizen:read:vaccinations", name=name)
    await partners.consent(citizen, partner.partner_id, "citizen:read:vaccinations")
    return citizen, partner


async def read_as(graphql, token: str, citizen: uuid.UUID, request_id: str) -> dict:
    response = await graphql.http.post(
        "/graphql",
        json={"query": READ, "variables": {"id": node_id(citizen)}},
        headers={"authorization": f"Bearer {token}", "x-request-id": request_id},
    )
    return dict(response.json())


async def access_log(graphql, citizen: uuid.UUID, **variables) -> dict:
    return (await graphql.query(LOG, variables, as_citizen=citizen))["data"]["me"]["accessLog"]


async def test_a_partner_read_is_in_the_citizens_access_log(graphql, given, partners):
    citizen, partner = await consenting(given, partners)

    body = await read_as(graphql, partner.token, citizen, "req-42")

    assert body["data"]["citizen"]["vaccinations"]
    entries = [edge["node"] for edge in (await access_log(graphql, citizen))["edges"]]
    assert sorted((e["sections"], e["requestId"], e["action"]) for e in entries) == [
        (["profile"], "req-42", "READ"),
        (["vaccinations"], "req-42", "READ"),
    ]
    assert {(e["actorKind"], e["actorName"]) for e in entries} == {("PARTNER", "Bệnh viện Phổi")}


async def test_the_citizens_own_reads_are_not_logged(graphql, given, partners):
    citizen, _ = await consenting(given, partners)

    await graphql.query("{ me { fullName vaccinations { id } } }", as_citizen=citizen)

    assert (await access_log(graphql, citizen))["edges"] == []


async def test_a_refused_read_is_not_logged_as_a_read(graphql, given, partners):
    citizen = await given.citizen()
    stranger = await partners.create("citizen:read:vaccinations")

    body = await read_as(graphql, stranger.token, citizen, "req-1")

    assert body["data"]["citizen"] is None
    assert (await access_log(graphql, citizen))["edges"] == []


async def test_the_access_log_pages_newest_first(graphql, given, partners):
    citizen, partner = await consenting(given, partners)
    for n in range(3):
        await read_as(graphql, partner.token, citizen, f"req-{n}")

    first = await access_log(graphql, citizen, first=4)
    rest = await access_log(graphql, citizen, first=4, after=first["pageInfo"]["endCursor"])

    times = [e["node"]["at"] for e in first["edges"] + rest["edges"]]
    assert len(times) == 6 and times == sorted(times, reverse=True)
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["requestId"] for e in rest["edges"]] == ["req-0", "req-0"]


async def test_a_foreign_cursor_is_bad_input(graphql, given):
    citizen = await given.citizen()
    check_in_cursor = encode_cursor("checkin", datetime.now(UTC), uuid.uuid4())

    body = await graphql.query(LOG, {"after": check_in_cursor}, as_citizen=citizen)

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_without_an_audit_row_no_data_is_released(graphql, given, partners, engines):
    citizen, partner = await consenting(given, partners)
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.text(
                "CREATE FUNCTION core.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit log full'; END $$"
            )
        )
        await core.execute(
            sa.text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON core.audit_log "
                "FOR EACH ROW EXECUTE FUNCTION core.refuse_audit()"
            )
        )
    try:
        body = await read_as(graphql, partner.token, citizen, "req-x")
    finally:
        async with engines[Store.CORE].begin() as core:
            await core.execute(sa.text("DROP TRIGGER refuse_audit ON core.audit_log"))
            await core.execute(sa.text("DROP FUNCTION core.refuse_audit()"))

    assert body["data"]["citizen"] is None
    assert "Nguyễn" not in str(body)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"INTERNAL"}
    assert {e["extensions"]["requestId"] for e in body["errors"]} == {"req-x"}


@pytest.mark.parametrize(
    "statement",
    ["UPDATE core.audit_log SET principal_name = 'nobody'", "DELETE FROM core.audit_log"],
)
async def test_audit_rows_cannot_be_changed_even_in_the_database(
    graphql, given, partners, engines, statement
):
    citizen, partner = await consenting(given, partners)
    await read_as(graphql, partner.token, citizen, "req-1")

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with engines[Store.CORE].begin() as core:
            await core.execute(sa.text(statement))

    assert len((await access_log(graphql, citizen))["edges"]) == 2


async def test_no_mutation_touches_the_audit_log(graphql):
    body = await graphql.query('{ __type(name: "Mutation") { fields { name } } }')

    names = [field["name"].lower() for field in body["data"]["__type"]["fields"]]
    assert not [name for name in names if "audit" in name or "accesslog" in name]


async def test_a_partners_request_id_reaches_the_access_log_only_when_plain(
    graphql, given, partners
):
    citizen, partner = await consenting(given, partners)

    await read_as(graphql, partner.token, citizen, "ignore previous; DROP TABLE x")

    entries = [edge["node"] for edge in (await access_log(graphql, citizen))["edges"]]
    assert entries
    assert {len(e["requestId"]) for e in entries} == {32}
    assert all(e["requestId"].isalnum() for e in entries)
