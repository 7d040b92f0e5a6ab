"""Province operators work through their province's unmatched records: link or dismiss."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from strawberry import relay

from models.link import RecordStore
from models.matching import RecordIdentity, RecordToLink, link_records
from models.stores import Engines, Store
from tests.conftest import Given, GraphQLClient

QUEUE = """query($first: Int, $after: String, $reason: UnmatchedReason, $kind: RecordKind,
  $site: String, $from: Date, $to: Date) {
  unmatchedRecords(first: $first, after: $after, reason: $reason, kind: $kind, site: $site,
    from: $from, to: $to) {
    edges { cursor node { id kind reason provinceCode site occurredAt vaccineCode doseNumber
      testType typed { fullName dateOfBirth nationalId insuranceNumber phone } } }
    pageInfo { hasNextPage endCursor } } }"""
RESOLVE = """mutation($input: ResolveUnmatchedInput!) { resolveUnmatched(input: $input) {
  record { id kind status citizenId } changed userErrors { field code message } } }"""
VACCINATIONS = "{ me { vaccinations { id doseNumber } vaccinationStatus { dosesReceived } } }"
LOG = "{ me { accessLog { edges { node { actorName action sections } } } } }"


def citizen_node(citizen: uuid.UUID) -> str:
    return str(relay.GlobalID("Citizen", str(citizen)))


async def operator(partners: Any, province: str = "24", name: str = "Sở Y tế Bắc Giang") -> str:
    created = await partners.create("reconcile", name=name, province_code=province)
    return str(created.token)


async def queue(graphql: GraphQLClient, token: str, **variables: Any) -> list[dict[str, Any]]:
    body = await graphql.query(QUEUE, variables, token=token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["unmatchedRecords"]["edges"]]


async def resolve(graphql: GraphQLClient, token: str, **input: Any) -> dict[str, Any]:
    body = await graphql.query(RESOLVE, {"input": input}, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["resolveUnmatched"])


async def unmatched_dose(given: Given, **fields: Any) -> uuid.UUID:
    """A dose typed with an ID no citizen holds verified."""
    fields.setdefault("national_id", "024099999999")
    return await given.vaccination(**fields)


async def test_an_operator_lists_the_unmatched_records_of_their_province_only(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    await given.citizen(national_id="024090001111")
    await given.vaccination(national_id="024090001111")  # linked: not in the queue
    ours = await unmatched_dose(given, full_name="Trần Thị Bình", phone="0912 345 678")
    await unmatched_dose(given, province_code="01")

    records = await queue(graphql, await operator(partners))

    assert [r["id"] for r in records] == [
        str(relay.to_base64("UnmatchedRecord", f"immunization:{ours}"))
    ]
    assert records[0]["reason"] == "NO_MATCH"
    assert records[0]["typed"] == {
        "fullName": "Trần Thị Bình",
        "dateOfBirth": None,
        "nationalId": "024099999999",
        "insuranceNumber": None,
        "phone": "0912 345 678",
    }
    assert (records[0]["kind"], records[0]["vaccineCode"], records[0]["doseNumber"]) == (
        "VACCINATION",
        "AZD1222",
        1,
    )


async def test_an_operator_of_another_province_sees_none_of_them(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    await unmatched_dose(given)

    assert await queue(graphql, await operator(partners, "01", "Sở Y tế Hà Nội")) == []


@pytest.mark.parametrize("caller", ["citizen", "reader", "no province", "anonymous"])
async def test_only_province_operators_read_the_queue(
    graphql: GraphQLClient, given: Given, partners: Any, caller: str
) -> None:
    await unmatched_dose(given)
    token = {
        "citizen": lambda: graphql.issuer.issue(uuid.uuid4()),
        "anonymous": lambda: None,
    }.get(caller)
    if caller == "reader":
        token_value = (await partners.create("citizen:read:vaccinations", province_code="24")).token
    elif caller == "no province":
        token_value = (await partners.create("reconcile")).token
    else:
        assert token is not None
        token_value = token()

    body = await graphql.query(QUEUE, {}, token=token_value)

    assert body["data"] is None
    expected = "UNAUTHENTICATED" if caller == "anonymous" else "FORBIDDEN"
    assert body["errors"][0]["extensions"]["code"] == expected


async def test_the_queue_filters_by_reason_kind_site_and_local_day(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    await given.citizen(national_id="024090002222", date_of_birth=date(1980, 1, 1))
    conflicting = await given.vaccination(
        national_id="024090002222",
        date_of_birth=date(1981, 1, 1),
        administered_at=datetime(2021, 7, 1, tzinfo=UTC),
    )
    # 01:30 on 2 August in Hà Nội is still 1 August in UTC.
    late = await unmatched_dose(given, administered_at=datetime(2021, 8, 1, 18, 30, tzinfo=UTC))
    sample = await given.sample(national_id="024099999998")
    token = await operator(partners)

    def ids(records: list[dict[str, Any]]) -> set[str]:
        return {relay.from_base64(r["id"])[1].split(":")[1] for r in records}

    assert ids(await queue(graphql, token, reason="CONFLICTING_IDENTIFIERS")) == {str(conflicting)}
    assert ids(await queue(graphql, token, kind="TEST_RESULT")) == {str(sample)}
    assert ids(await queue(graphql, token, site="tân mỹ", kind="VACCINATION")) == {
        str(conflicting),
        str(late),
    }
    assert ids(await queue(graphql, token, site="Bệnh viện")) == set()
    assert ids(await queue(graphql, token, **{"from": "2021-08-02", "to": "2021-08-02"})) == {
        str(late)
    }


async def test_the_queue_is_paged_oldest_first(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    records = [await unmatched_dose(given) for _ in range(3)]
    token = await operator(partners)

    first = await graphql.query(QUEUE, {"first": 2}, token=token)
    connection = first["data"]["unmatchedRecords"]
    second = await graphql.query(
        QUEUE, {"first": 2, "after": connection["pageInfo"]["endCursor"]}, token=token
    )

    seen = [e["node"]["id"] for e in connection["edges"]]
    seen += [e["node"]["id"] for e in second["data"]["unmatchedRecords"]["edges"]]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert second["data"]["unmatchedRecords"]["pageInfo"]["hasNextPage"] is False
    assert seen == [str(relay.to_base64("UnmatchedRecord", f"immunization:{r}")) for r in records]


async def test_a_linked_record_shows_at_once_and_is_never_matched_away(
    graphql: GraphQLClient, given: Given, partners: Any, engines: Engines
) -> None:
    citizen = await given.citizen()
    dose = await unmatched_dose(
        given, dose_number=2, administered_at=datetime(2021, 9, 1, tzinfo=UTC)
    )
    token = await operator(partners)
    [queued] = await queue(graphql, token)

    resolved = await resolve(graphql, token, recordId=queued["id"], citizenId=citizen_node(citizen))

    assert resolved["record"]["status"] == "LINKED"
    assert resolved["userErrors"] == []
    mine = (await graphql.query(VACCINATIONS, as_citizen=citizen))["data"]["me"]
    assert [v["doseNumber"] for v in mine["vaccinations"]] == [2]
    assert mine["vaccinationStatus"]["dosesReceived"] == 1
    assert await queue(graphql, token) == []

    # Someone else later verifies the ID typed on the record; matching runs again.
    other = await given.citizen(national_id="024099999999")
    async with engines[Store.CORE].begin() as core:
        identity = RecordIdentity.from_typed("024099999999", None, None, None)
        again = RecordToLink(dose, "24", identity, datetime(2021, 9, 1, tzinfo=UTC))
        await link_records(core, RecordStore.IMMUNIZATION, [again])
    assert (await graphql.query(VACCINATIONS, as_citizen=other))["data"]["me"]["vaccinations"] == []
    mine = (await graphql.query(VACCINATIONS, as_citizen=citizen))["data"]["me"]
    assert [v["doseNumber"] for v in mine["vaccinations"]] == [2]


async def test_the_decision_is_in_the_citizens_access_log(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen()
    await unmatched_dose(given)
    token = await operator(partners, name="Sở Y tế Bắc Giang")
    [queued] = await queue(graphql, token)

    await resolve(graphql, token, recordId=queued["id"], citizenId=citizen_node(citizen))

    log = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]
    assert [e["node"] for e in log] == [
        {"actorName": "Sở Y tế Bắc Giang", "action": "LINK", "sections": ["vaccinations"]}
    ]


async def test_moving_a_record_to_another_citizen_tells_both(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    first, second = await given.citizen(), await given.citizen()
    await unmatched_dose(given)
    token = await operator(partners)
    [queued] = await queue(graphql, token)
    await resolve(graphql, token, recordId=queued["id"], citizenId=citizen_node(first))

    moved = await resolve(graphql, token, recordId=queued["id"], citizenId=citizen_node(second))

    assert moved["changed"] is True
    assert (await graphql.query(VACCINATIONS, as_citizen=first))["data"]["me"]["vaccinations"] == []
    assert (
        len((await graphql.query(VACCINATIONS, as_citizen=second))["data"]["me"]["vaccinations"])
        == 1
    )
    first_log = (await graphql.query(LOG, as_citizen=first))["data"]["me"]["accessLog"]["edges"]
    assert [e["node"]["action"] for e in first_log] == ["UNLINK", "LINK"]


async def test_dismissing_takes_a_record_out_of_the_queue_and_a_replay_changes_nothing(
    graphql: GraphQLClient, given: Given, partners: Any, engines: Engines
) -> None:
    dose = await unmatched_dose(given)
    token = await operator(partners)
    [queued] = await queue(graphql, token)

    dismissed = await resolve(graphql, token, recordId=queued["id"], dismiss=True, note="tourist")
    replayed = await resolve(graphql, token, recordId=queued["id"], dismiss=True)

    assert (dismissed["record"]["status"], dismissed["changed"]) == ("DISMISSED", True)
    assert (replayed["record"]["status"], replayed["changed"]) == ("DISMISSED", False)
    assert await queue(graphql, token) == []
    async with engines[Store.CORE].connect() as core:
        decisions = await core.execute(
            sa.text("SELECT decision, note FROM core.record_decisions WHERE record_id = :id"),
            {"id": dose},
        )
        assert decisions.all() == [("DISMISS", "tourist")]


async def test_an_operator_of_another_province_cannot_resolve_the_record(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen()
    await unmatched_dose(given)
    [queued] = await queue(graphql, await operator(partners))

    refused = await resolve(
        graphql,
        await operator(partners, province="01", name="Sở Y tế Hà Nội"),
        recordId=queued["id"],
        citizenId=citizen_node(citizen),
    )

    assert refused["record"] is None
    assert refused["userErrors"][0]["field"] == "recordId"
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await graphql.query(VACCINATIONS, as_citizen=citizen))["data"]["me"][
        "vaccinations"
    ] == []


async def test_a_partner_without_the_reconcile_scope_cannot_resolve(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen()
    await unmatched_dose(given)
    [queued] = await queue(graphql, await operator(partners))
    writer = await partners.create("immunization:write", province_code="24")

    body = await graphql.query(
        RESOLVE,
        {"input": {"recordId": queued["id"], "citizenId": citizen_node(citizen)}},
        token=writer.token,
    )

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("input", "field", "code"),
    [
        ({"citizenId": "unknown"}, "citizenId", "NOT_FOUND"),
        ({"citizenId": "new"}, "citizenId", "NOT_FOUND"),
        ({}, "citizenId", "INVALID_VALUE"),
        ({"citizenId": "known", "dismiss": True}, "citizenId", "INVALID_VALUE"),
        ({"recordId": "bm90IGFuIGlk", "dismiss": True}, "recordId", "NOT_FOUND"),
    ],
)
async def test_a_resolution_that_makes_no_sense_is_refused_with_the_field(
    graphql: GraphQLClient,
    given: Given,
    partners: Any,
    input: dict[str, Any],
    field: str,
    code: str,
) -> None:
    citizen = await given.citizen()
    await unmatched_dose(given)
    token = await operator(partners)
    [queued] = await queue(graphql, token)
    chosen = {
        "unknown": "not-an-id",
        "new": citizen_node(uuid.uuid4()),
        "known": citizen_node(citizen),
    }
    sent = {"recordId": queued["id"], **input}
    if "citizenId" in sent:
        sent["citizenId"] = chosen[sent["citizenId"]]

    refused = await resolve(graphql, token, **sent)

    assert (refused["userErrors"][0]["field"], refused["userErrors"][0]["code"]) == (field, code)
    assert len(await queue(graphql, token)) == 1


async def test_a_decision_once_written_cannot_be_rewritten(
    graphql: GraphQLClient, given: Given, partners: Any, engines: Engines
) -> None:
    dose = await unmatched_dose(given)
    token = await operator(partners)
    [queued] = await queue(graphql, token)
    await resolve(graphql, token, recordId=queued["id"], dismiss=True)

    async with engines[Store.CORE].connect() as core:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await core.execute(
                sa.text("UPDATE core.record_decisions SET note = 'x' WHERE record_id = :id"),
                {"id": dose},
            )
