"""What the citizen sees of a record's origin: provenance, one dose from two systems, pools."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from strawberry import relay

from models.stores import Engines, Store
from models.testing import TestOutcome
from tests.conftest import Given, GraphQLClient

DOSES = """{ me {
  vaccinations { id doseNumber seriesRole provenance { sourceSystem sourceRecordId
    lastSynchronisedAt matchedBy } }
  vaccinationStatus { dosesReceived primarySeriesComplete boosterDoses } } }"""
TESTS = """{ me { testResults { edges { node { id pooled poolCode result resultedAt
  collectedAt retestRequired provenance { sourceSystem matchedBy } } } } } }"""
CCCD = "024090001234"
BIRTH = date(1990, 5, 14)


async def from_source(engines: Engines, table: str, record_id: uuid.UUID, system: str) -> None:
    async with engines[Store(table.split(".")[0])].begin() as connection:
        await connection.execute(
            sa.text(f"UPDATE {table} SET source_system = :system WHERE id = :id"),
            {"system": system, "id": record_id},
        )


async def test_each_dose_says_where_it_comes_from_and_how_it_was_matched(
    graphql: GraphQLClient, given: Given
) -> None:
    citizen = await given.citizen(
        national_id=CCCD, insurance_number="DN4240123456789", phone="0912345678"
    )
    await given.vaccination(national_id=CCCD, dose_number=1)
    await given.vaccination(
        insurance_number="DN4240123456789",
        dose_number=2,
        administered_at=datetime(2021, 10, 1, tzinfo=UTC),
    )
    await given.vaccination(
        phone="0912345678",
        date_of_birth=BIRTH,
        dose_number=3,
        administered_at=datetime(2022, 3, 1, tzinfo=UTC),
    )

    doses = (await graphql.query(DOSES, as_citizen=citizen))["data"]["me"]["vaccinations"]

    assert [(d["doseNumber"], d["provenance"][0]["matchedBy"]) for d in doses] == [
        (1, "NATIONAL_ID"),
        (2, "INSURANCE_NUMBER"),
        (3, "PHONE_AND_BIRTH_DATE"),
    ]
    assert {p["sourceSystem"] for d in doses for p in d["provenance"]} == {"test-site"}
    assert all(d["provenance"][0]["lastSynchronisedAt"] for d in doses)


async def test_one_dose_from_two_systems_is_shown_once_with_both_and_counted_once(
    graphql: GraphQLClient, given: Given, engines: Engines
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    # 08:00 in Hà Nội on 1 August, entered by the site at 01:00 UTC...
    site = await given.vaccination(
        national_id=CCCD, administered_at=datetime(2021, 8, 1, 1, tzinfo=UTC)
    )
    # ...and by the national platform with the time it was typed in, later that local day.
    platform = await given.vaccination(
        national_id=CCCD, administered_at=datetime(2021, 8, 1, 15, tzinfo=UTC)
    )
    await from_source(engines, "immunization.vaccination_records", platform, "national-platform")
    await given.vaccination(
        national_id=CCCD, dose_number=2, administered_at=datetime(2021, 9, 1, tzinfo=UTC)
    )

    me = (await graphql.query(DOSES, as_citizen=citizen))["data"]["me"]

    assert [d["doseNumber"] for d in me["vaccinations"]] == [1, 2]
    assert sorted(p["sourceSystem"] for p in me["vaccinations"][0]["provenance"]) == [
        "national-platform",
        "test-site",
    ]
    assert me["vaccinationStatus"] == {
        "dosesReceived": 2,
        "primarySeriesComplete": True,
        "boosterDoses": 0,
    }
    assert site != platform


async def test_doses_on_different_local_days_or_of_different_vaccines_stay_apart(
    graphql: GraphQLClient, given: Given
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    # 23:00 and 01:00 in Hà Nội: two local days, though one UTC day.
    await given.vaccination(national_id=CCCD, administered_at=datetime(2021, 8, 1, 16, tzinfo=UTC))
    await given.vaccination(national_id=CCCD, administered_at=datetime(2021, 8, 1, 18, tzinfo=UTC))
    await given.vaccination(
        national_id=CCCD,
        vaccine_code="BNT162b2",
        administered_at=datetime(2021, 8, 1, 18, tzinfo=UTC),
    )

    me = (await graphql.query(DOSES, as_citizen=citizen))["data"]["me"]

    assert me["vaccinationStatus"]["dosesReceived"] == 3


async def test_a_pending_test_shows_pending_with_when_the_sample_was_taken(
    graphql: GraphQLClient, given: Given
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    taken = datetime(2021, 9, 3, 2, tzinfo=UTC)
    await given.sample(national_id=CCCD, result=TestOutcome.PENDING, collected_at=taken)

    [edge] = (await graphql.query(TESTS, as_citizen=citizen))["data"]["me"]["testResults"]["edges"]

    assert edge["node"]["result"] == "PENDING"
    assert edge["node"]["resultedAt"] is None
    assert edge["node"]["collectedAt"] == "2021-09-03T02:00:00+00:00"
    assert edge["node"]["provenance"] == {"sourceSystem": "test-lab", "matchedBy": "NATIONAL_ID"}


async def _pool(engines: Engines, pool: str, *samples: uuid.UUID) -> None:
    async with engines[Store.TESTING].begin() as testing:
        await testing.execute(
            sa.text(
                "UPDATE testing.samples SET pooled = true, pool_code = :pool WHERE id = ANY(:ids)"
            ),
            {"pool": pool, "ids": list(samples)},
        )


async def test_a_positive_pool_is_each_members_result_and_asks_for_a_retest(
    graphql: GraphQLClient, given: Given, engines: Engines
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    neighbour = await given.citizen(national_id="024090005678")
    mine = await given.sample(national_id=CCCD, result=TestOutcome.PENDING)
    # The lab records the tube's result on one sample of it.
    theirs = await given.sample(national_id="024090005678", result=TestOutcome.POSITIVE)
    await _pool(engines, "POOL-7", mine, theirs)

    for person in (citizen, neighbour):
        body = await graphql.query(TESTS, as_citizen=person)
        [edge] = body["data"]["me"]["testResults"]["edges"]
        assert (edge["node"]["result"], edge["node"]["retestRequired"]) == ("POSITIVE", True)
        assert edge["node"]["resultedAt"] is not None


async def test_a_negative_pool_clears_its_members_without_a_retest(
    graphql: GraphQLClient, given: Given, engines: Engines
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    mine = await given.sample(national_id=CCCD, result=TestOutcome.PENDING)
    other = await given.sample(national_id="024099999999", result=TestOutcome.NEGATIVE)
    await _pool(engines, "POOL-8", mine, other)
    # An individual sample is never touched by a pool's result.
    alone = await given.sample(national_id=CCCD, result=TestOutcome.PENDING)

    edges = (await graphql.query(TESTS, as_citizen=citizen))["data"]["me"]["testResults"]["edges"]

    results = {
        e["node"]["pooled"]: (e["node"]["result"], e["node"]["retestRequired"]) for e in edges
    }
    assert results == {True: ("NEGATIVE", False), False: ("PENDING", False)}
    assert alone


async def test_a_pool_shows_nothing_of_the_other_members(
    graphql: GraphQLClient, given: Given, engines: Engines
) -> None:
    citizen = await given.citizen(national_id=CCCD)
    mine = await given.sample(national_id=CCCD, result=TestOutcome.PENDING)
    theirs = await given.sample(national_id="024090005678", result=TestOutcome.POSITIVE)
    await _pool(engines, "POOL-9", mine, theirs)

    body: dict[str, Any] = await graphql.query(TESTS, as_citizen=citizen)

    [edge] = body["data"]["me"]["testResults"]["edges"]
    assert relay.GlobalID.from_id(edge["node"]["id"]).node_id == str(mine)
    assert str(theirs) not in str(body)


async def test_the_dashboards_compiled_plan_follows_the_same_rules(
    graphql: GraphQLClient, given: Given, engines: Engines
) -> None:
    dashboard = """{ me { vaccinations { doseNumber } vaccinationStatus { dosesReceived }
      testResults { edges { node { result } } } } }"""
    citizen = await given.citizen(national_id=CCCD)
    await given.vaccination(national_id=CCCD, administered_at=datetime(2021, 8, 1, 1, tzinfo=UTC))
    await given.vaccination(national_id=CCCD, administered_at=datetime(2021, 8, 1, 9, tzinfo=UTC))
    mine = await given.sample(national_id=CCCD, result=TestOutcome.PENDING)
    theirs = await given.sample(national_id="024090005678", result=TestOutcome.POSITIVE)
    await _pool(engines, "POOL-10", mine, theirs)

    # The first answer comes from the resolvers; the same document again from its plan.
    answers = [await graphql.query(dashboard, as_citizen=citizen) for _ in range(3)]

    from api.schema import schema

    assert schema.plans.known(dashboard) is not None
    assert answers[0] == answers[1] == answers[2]
    me = answers[0]["data"]["me"]
    assert (me["vaccinations"], me["vaccinationStatus"]) == (
        [{"doseNumber": 1}],
        {"dosesReceived": 1},
    )
    assert me["testResults"]["edges"] == [{"node": {"result": "POSITIVE"}}]
