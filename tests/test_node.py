"""Any object can be fetched by its global ID, but only by whoever may see it."""

import pytest

from models.venue import VenueKind

IDS = """
{ me { id
  vaccinations { id }
  testResults { edges { node { id } } }
  checkIns { edges { node { id } } } } }
"""
NODE = """
query($id: ID!) { node(id: $id) {
  __typename id
  ... on Citizen { fullName }
  ... on Vaccination { vaccine { code } }
  ... on TestResult { result }
  ... on CheckIn { venue { name } }
} }
"""


async def _owner_and_ids(graphql, given):
    owner = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(owner, await given.venue(VenueKind.HOTEL), 1)
    me = (await graphql.query(IDS, as_citizen=owner))["data"]["me"]
    ids = {
        "Citizen": me["id"],
        "Vaccination": me["vaccinations"][0]["id"],
        "TestResult": me["testResults"]["edges"][0]["node"]["id"],
        "CheckIn": me["checkIns"]["edges"][0]["node"]["id"],
    }
    return owner, ids


@pytest.mark.parametrize("typename", ["Citizen", "Vaccination", "TestResult", "CheckIn"])
async def test_the_owner_fetches_their_objects_by_node_id(graphql, given, typename):
    owner, ids = await _owner_and_ids(graphql, given)

    body = await graphql.query(NODE, {"id": ids[typename]}, as_citizen=owner)

    assert body["data"]["node"]["__typename"] == typename
    assert body["data"]["node"]["id"] == ids[typename]


@pytest.mark.parametrize("typename", ["Citizen", "Vaccination", "TestResult", "CheckIn"])
async def test_another_citizen_gets_nothing_for_those_node_ids(graphql, given, typename):
    _, ids = await _owner_and_ids(graphql, given)
    stranger = await given.citizen()

    body = await graphql.query(NODE, {"id": ids[typename]}, as_citizen=stranger)

    assert body["data"]["node"] is None
    assert "Nguyễn" not in str(body)


async def test_anonymous_callers_get_nothing_for_node_ids(graphql, given):
    _, ids = await _owner_and_ids(graphql, given)

    for node_id in ids.values():
        body = await graphql.query(NODE, {"id": node_id})
        assert body["data"]["node"] is None


async def test_aliases_do_not_reach_another_citizen(graphql, given):
    _owner, ids = await _owner_and_ids(graphql, given)
    stranger = await given.citizen(full_name="Trần Thị Bình")
    document = """query($a: ID!, $b: ID!) {
      mine: me { fullName } theirs: node(id: $a) { id } alsoTheirs: node(id: $b) { id } }"""

    body = await graphql.query(
        document, {"a": ids["Citizen"], "b": ids["Vaccination"]}, as_citizen=stranger
    )

    assert body["data"] == {
        "mine": {"fullName": "Trần Thị Bình"},
        "theirs": None,
        "alsoTheirs": None,
    }


@pytest.mark.parametrize("node_id", ["garbage", "Q2l0aXplbjpub3QtYS11dWlk", "VmVudWU6eA=="])
async def test_malformed_node_ids_are_refused_without_an_internal_error(graphql, given, node_id):
    citizen = await given.citizen()

    body = await graphql.query(NODE, {"id": node_id}, as_citizen=citizen)

    assert body["data"]["node"] is None
    for error in body.get("errors", []):
        assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}
