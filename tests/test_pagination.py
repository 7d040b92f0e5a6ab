"""Test results and check-ins page newest first with opaque cursors."""

import base64
import uuid
from datetime import UTC, datetime

import pytest

from models.venue import VenueKind

CHECK_INS = """
query($first: Int, $after: String) {
  me { checkIns(first: $first, after: $after) {
    edges { cursor node { id checkedInAt } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  } }
}
"""
TESTS = """
query($first: Int, $after: String) {
  me { testResults(first: $first, after: $after) {
    edges { node { sampleCode } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""


async def _citizen_with_check_ins(given, count):
    citizen = await given.citizen()
    venue = await given.venue(VenueKind.GROCERY)
    await given.check_ins(citizen, venue, count)
    return citizen


async def test_no_check_ins_is_an_empty_page(graphql, given):
    citizen = await given.citizen()

    page = (await graphql.query(CHECK_INS, {"first": 5}, as_citizen=citizen))["data"]["me"][
        "checkIns"
    ]

    assert page["edges"] == []
    assert page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None}


async def test_exactly_one_page_has_no_next_page(graphql, given):
    citizen = await _citizen_with_check_ins(given, 5)

    page = (await graphql.query(CHECK_INS, {"first": 5}, as_citizen=citizen))["data"]["me"][
        "checkIns"
    ]

    assert len(page["edges"]) == 5
    assert page["pageInfo"]["hasNextPage"] is False


async def test_pages_walk_every_check_in_newest_first_without_repeats(graphql, given):
    citizen = await _citizen_with_check_ins(given, 7)
    seen, after = [], None
    for _ in range(4):
        body = await graphql.query(CHECK_INS, {"first": 3, "after": after}, as_citizen=citizen)
        page = body["data"]["me"]["checkIns"]
        seen += [edge["node"]["checkedInAt"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break

    assert len(seen) == 7
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 7


async def test_last_page_is_short_and_says_so(graphql, given):
    citizen = await _citizen_with_check_ins(given, 4)
    first = await graphql.query(CHECK_INS, {"first": 3}, as_citizen=citizen)
    cursor = first["data"]["me"]["checkIns"]["pageInfo"]["endCursor"]

    body = await graphql.query(CHECK_INS, {"first": 3, "after": cursor}, as_citizen=citizen)

    page = body["data"]["me"]["checkIns"]
    assert len(page["edges"]) == 1
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(b"checkin|yesterday|nope").decode(),
        base64.urlsafe_b64encode(b"test|2021-09-01T00:00:00+00:00|" + b"0" * 32).decode(),
    ],
)
async def test_a_bad_cursor_is_bad_user_input(graphql, given, cursor):
    citizen = await _citizen_with_check_ins(given, 2)

    body = await graphql.query(CHECK_INS, {"first": 2, "after": cursor}, as_citizen=citizen)

    assert body["data"]["me"]["checkIns"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"] == ["me", "checkIns"]


@pytest.mark.parametrize("first", [-1, 101])
async def test_page_size_out_of_range_is_bad_user_input(graphql, given, first):
    citizen = await given.citizen()

    body = await graphql.query(CHECK_INS, {"first": first}, as_citizen=citizen)

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_test_results_page_with_cursors(graphql, given):
    citizen = await given.citizen(national_id="024090001234")
    for _ in range(3):
        await given.sample(national_id="024090001234")

    first = (await graphql.query(TESTS, {"first": 2}, as_citizen=citizen))["data"]["me"][
        "testResults"
    ]
    rest = await graphql.query(
        TESTS, {"first": 2, "after": first["pageInfo"]["endCursor"]}, as_citizen=citizen
    )

    codes = [e["node"]["sampleCode"] for e in first["edges"]]
    codes += [e["node"]["sampleCode"] for e in rest["data"]["me"]["testResults"]["edges"]]
    assert codes == sorted(codes, reverse=True)
    assert len(set(codes)) == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["data"]["me"]["testResults"]["pageInfo"]["hasNextPage"] is False


async def test_a_cursor_from_another_citizens_list_shows_only_my_own_rows(graphql, given):
    mine = await _citizen_with_check_ins(given, 3)
    theirs = await _citizen_with_check_ins(given, 3)
    their_page = await graphql.query(CHECK_INS, {"first": 1}, as_citizen=theirs)
    their_cursor = their_page["data"]["me"]["checkIns"]["pageInfo"]["endCursor"]
    their_ids = {
        e["node"]["id"]
        for e in (await graphql.query(CHECK_INS, {"first": 10}, as_citizen=theirs))["data"]["me"][
            "checkIns"
        ]["edges"]
    }

    body = await graphql.query(CHECK_INS, {"first": 10, "after": their_cursor}, as_citizen=mine)

    ids = {edge["node"]["id"] for edge in body["data"]["me"]["checkIns"]["edges"]}
    assert ids.isdisjoint(their_ids)


async def test_test_results_page_by_when_the_sample_was_taken_not_when_it_was_recorded(
    graphql, given
):
    citizen = await given.citizen(national_id="024090001234")
    days = [3, 9, 1, 7, 5]
    for day in days:
        taken = datetime(2021, 9, day, 8, tzinfo=UTC)
        await given.sample(national_id="024090001234", collected_at=taken)
    await given.sample(national_id="079090009999", collected_at=datetime(2021, 9, 30, tzinfo=UTC))
    taken, after = [], None
    while True:
        body = await graphql.query(TESTS_TAKEN, {"first": 2, "after": after}, as_citizen=citizen)
        page = body["data"]["me"]["testResults"]
        taken += [edge["node"]["collectedAt"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break

    assert [datetime.fromisoformat(t).day for t in taken] == sorted(days, reverse=True)


TESTS_TAKEN = """
query($first: Int, $after: String) {
  me { testResults(first: $first, after: $after) {
    edges { node { collectedAt } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""


def _edge_of_time_cursor(kind: str) -> str:
    raw = f"{kind}|9999-12-31T23:59:59-14:00|{uuid.uuid4()}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


ACCESS_LOG = """query($after: String) { me { accessLog(first: 5, after: $after) {
  edges { node { action } } } } }"""


@pytest.mark.parametrize(
    ("document", "kind", "field"),
    [(CHECK_INS, "checkin", "checkIns"), (ACCESS_LOG, "audit", "accessLog")],
)
async def test_a_cursor_past_the_end_of_the_calendar_is_bad_user_input(
    graphql, given, document, kind, field
):
    citizen = await given.citizen()

    body = await graphql.query(document, {"after": _edge_of_time_cursor(kind)}, as_citizen=citizen)

    assert body["data"]["me"][field] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
