"""A citizen deletes one check-in or all of them, and gets a receipt saying what went."""

from models.venue import VenueKind

DELETE = """
mutation($input: DeleteCheckInsInput!) {
  deleteCheckIns(input: $input) {
    receipt { count deletedAt checkIns { id venueName checkedInAt } }
    userErrors { field code message }
  }
}
"""
MY_CHECK_INS = "query { me { checkIns(first: 50) { edges { node { id } } } } }"


async def _my_check_in_ids(graphql, citizen):
    answer = await graphql.query(MY_CHECK_INS, as_citizen=citizen)
    return [edge["node"]["id"] for edge in answer["data"]["me"]["checkIns"]["edges"]]


async def test_a_citizen_deletes_one_check_in_and_the_receipt_names_it(graphql, given):
    me = await given.citizen()
    await given.check_ins(me, await given.venue(VenueKind.MARKET, "Chợ Chũ"), 3)
    ids = await _my_check_in_ids(graphql, me)

    answer = await graphql.query(DELETE, {"input": {"ids": [ids[0]]}}, as_citizen=me)

    receipt = answer["data"]["deleteCheckIns"]["receipt"]
    assert receipt["count"] == 1
    assert [c["id"] for c in receipt["checkIns"]] == [ids[0]]
    assert receipt["checkIns"][0]["venueName"] == "Chợ Chũ"
    assert await _my_check_in_ids(graphql, me) == ids[1:]


async def test_a_citizen_deletes_all_their_check_ins(graphql, given):
    me = await given.citizen()
    await given.check_ins(me, await given.venue(), 4)

    answer = await graphql.query(DELETE, {"input": {"all": True}}, as_citizen=me)

    receipt = answer["data"]["deleteCheckIns"]["receipt"]
    assert receipt["count"] == 4
    times = [c["checkedInAt"] for c in receipt["checkIns"]]
    assert times == sorted(times)
    assert await _my_check_in_ids(graphql, me) == []


async def test_another_citizens_check_ins_are_never_deleted(graphql, given):
    me, neighbour = await given.citizen(), await given.citizen()
    venue = await given.venue()
    await given.check_ins(me, venue, 1)
    await given.check_ins(neighbour, venue, 2)
    theirs = await _my_check_in_ids(graphql, neighbour)

    by_id = await graphql.query(DELETE, {"input": {"ids": theirs}}, as_citizen=me)
    everything = await graphql.query(DELETE, {"input": {"all": True}}, as_citizen=me)

    assert by_id["data"]["deleteCheckIns"]["receipt"]["count"] == 0
    assert by_id["data"]["deleteCheckIns"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert everything["data"]["deleteCheckIns"]["receipt"]["count"] == 1
    assert await _my_check_in_ids(graphql, neighbour) == theirs


async def test_deleting_asks_for_ids_or_all_and_a_signed_in_citizen(graphql, given, partners):
    me = await given.citizen()
    await given.check_ins(me, await given.venue(), 1)
    partner = await partners.create("citizen:read:checkins")

    neither = await graphql.query(DELETE, {"input": {}}, as_citizen=me)
    both = await graphql.query(DELETE, {"input": {"ids": [], "all": True}}, as_citizen=me)
    anonymous = await graphql.query(DELETE, {"input": {"all": True}})
    as_partner = await graphql.query(DELETE, {"input": {"all": True}}, token=partner.token)

    assert neither["data"]["deleteCheckIns"]["userErrors"][0]["code"] == "INVALID_VALUE"
    assert both["data"]["deleteCheckIns"]["userErrors"][0]["code"] == "INVALID_VALUE"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert as_partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(await _my_check_in_ids(graphql, me)) == 1
