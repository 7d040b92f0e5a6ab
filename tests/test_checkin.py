"""Checking in by a venue's QR code: signed codes only, open venues only, the venue named
in the answer, and one check-in per person and venue within the dedupe window."""

from datetime import UTC, datetime, timedelta

import pytest

from auth.qr import CodeKind
from models.checkin import CheckInMethod, Scan, capture
from models.stores import Store
from models.venue import VenueKind

CHECK_IN = """
mutation($payload: String!, $declaration: HealthDeclarationInput) {
  checkIn(input: {payload: $payload, declaration: $declaration}) {
    checkIn { id checkedInAt method deletesAt venue { code name kind closedAt }
              healthDeclaration { fever cough lossOfTasteOrSmell travelledLast14Days } }
    alreadyCheckedIn
    userErrors { field code message }
  }
}
"""


async def _venue_payload(given, qr, **venue):
    venue_id = await given.venue(**venue)
    return venue_id, qr.sign(CodeKind.VENUE, await given.venue_code(venue_id))


async def test_a_citizen_checks_in_by_the_venue_code_and_the_answer_names_the_venue(
    graphql, given, qr
):
    me = await given.citizen()
    venue_id, payload = await _venue_payload(given, qr, kind=VenueKind.MARKET, name="Chợ Chũ")

    answer = await graphql.query(
        CHECK_IN,
        {"payload": payload, "declaration": {"fever": False, "lossOfTasteOrSmell": True}},
        as_citizen=me,
    )

    result = answer["data"]["checkIn"]
    assert result["userErrors"] == []
    assert result["alreadyCheckedIn"] is False
    assert result["checkIn"]["venue"]["name"] == "Chợ Chũ"
    assert result["checkIn"]["method"] == "APP_SCAN"
    assert result["checkIn"]["healthDeclaration"]["lossOfTasteOrSmell"] is True
    assert result["checkIn"]["healthDeclaration"]["cough"] is None
    (row,) = await given.check_in_rows(citizen_id=me)
    assert row.venue_id == venue_id


async def test_the_check_in_says_when_retention_deletes_it(graphql, given, qr, settings):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr)

    answer = await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)

    check_in = answer["data"]["checkIn"]["checkIn"]
    checked_in = datetime.fromisoformat(check_in["checkedInAt"])
    deletes = datetime.fromisoformat(check_in["deletesAt"])
    retention = timedelta(days=settings.check_in_retention_days)
    # Its month's partition goes once the month's last instant is past retention.
    month_end = datetime(
        checked_in.year + checked_in.month // 12, checked_in.month % 12 + 1, 1, tzinfo=UTC
    )
    assert deletes == month_end + retention


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"), "signature"),
        (lambda p: p.replace(":VN-", ":VN-9"), "signature"),
        (lambda p: "HG:V:VN-000001:AAAAAAAAAAAAAAAA", "signature"),
        (lambda p: "https://example.com/checkin?venue=VN-000001", "not a code"),
        (lambda p: p.replace("HG:V:", "HG:P:"), "another kind"),
    ],
    ids=["altered-signature", "altered-venue", "forged", "foreign", "personal-card-code"],
)
async def test_a_code_the_service_did_not_issue_is_refused(graphql, given, qr, tamper, why):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr)

    answer = await graphql.query(CHECK_IN, {"payload": tamper(payload)}, as_citizen=me)

    result = answer["data"]["checkIn"]
    assert result["checkIn"] is None
    (error,) = result["userErrors"]
    assert error["code"] == "INVALID_QR_CODE" and error["field"] == "payload"
    assert why in error["message"]
    assert await given.check_in_rows(citizen_id=me) == []


async def test_a_signed_code_of_a_venue_that_does_not_exist_is_refused(graphql, given, qr):
    me = await given.citizen()

    answer = await graphql.query(
        CHECK_IN, {"payload": qr.sign(CodeKind.VENUE, "24-NH-NOTHERE")}, as_citizen=me
    )

    assert answer["data"]["checkIn"]["userErrors"][0]["code"] == "INVALID_QR_CODE"


async def test_a_closed_venues_code_is_refused(graphql, given, qr):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr, closed=True)

    answer = await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)

    (error,) = answer["data"]["checkIn"]["userErrors"]
    assert error["code"] == "VENUE_CLOSED"
    assert await given.check_in_rows(citizen_id=me) == []


async def test_the_code_is_read_whatever_the_case_and_spacing_the_scanner_gives(graphql, given, qr):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr)

    answer = await graphql.query(CHECK_IN, {"payload": f"  {payload.lower()}\n"}, as_citizen=me)

    assert answer["data"]["checkIn"]["userErrors"] == []


async def test_checking_in_needs_a_signed_in_citizen(graphql, given, qr, partners):
    _, payload = await _venue_payload(given, qr)
    operator = await partners.create("checkins:staff")

    anonymous = await graphql.query(CHECK_IN, {"payload": payload})
    partner = await graphql.query(CHECK_IN, {"payload": payload}, token=operator.token)

    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await given.check_in_rows() == []


async def test_a_second_scan_within_the_window_is_the_same_check_in(graphql, given, qr):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr)

    first = await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)
    second = await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)

    assert second["data"]["checkIn"]["alreadyCheckedIn"] is True
    assert second["data"]["checkIn"]["checkIn"]["id"] == first["data"]["checkIn"]["checkIn"]["id"]
    assert len(await given.check_in_rows(citizen_id=me)) == 1


async def test_the_same_scan_at_another_venue_or_by_another_citizen_is_its_own(graphql, given, qr):
    me, neighbour = await given.citizen(), await given.citizen()
    _, here = await _venue_payload(given, qr)
    _, there = await _venue_payload(given, qr)

    await graphql.query(CHECK_IN, {"payload": here}, as_citizen=me)
    await graphql.query(CHECK_IN, {"payload": there}, as_citizen=me)
    await graphql.query(CHECK_IN, {"payload": here}, as_citizen=neighbour)

    assert len(await given.check_in_rows(citizen_id=me)) == 2
    assert len(await given.check_in_rows(citizen_id=neighbour)) == 1


WINDOW = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("apart", "same"),
    [
        (timedelta(0), True),
        (WINDOW - timedelta(microseconds=1), True),
        (-(WINDOW - timedelta(microseconds=1)), True),
        (WINDOW, False),
        (-WINDOW, False),
        (WINDOW + timedelta(seconds=1), False),
    ],
    ids=[
        "same-instant",
        "just-inside",
        "just-inside-earlier",
        "at-the-edge",
        "at-the-edge-earlier",
        "past-the-edge",
    ],
)
async def test_the_dedupe_window_at_its_edges(engines, given, apart, same):
    citizen = await given.citizen()
    venue = await given.venue()
    at = datetime.now(UTC) - timedelta(hours=1)

    async with engines[Store.CORE].begin() as core:
        first = await capture(core, Scan(venue, at, CheckInMethod.APP_SCAN, citizen), WINDOW)
        second = await capture(
            core, Scan(venue, at + apart, CheckInMethod.APP_SCAN, citizen), WINDOW
        )

    assert first.new
    assert (second.id == first.id) is same
    assert second.new is not same
    assert len(await given.check_in_rows(citizen_id=citizen)) == (1 if same else 2)


async def test_the_dedupe_window_is_configurable(app_process, given, qr, issuer):
    me = await given.citizen()
    venue_id, payload = await _venue_payload(given, qr)
    earlier = datetime.now(UTC) - timedelta(minutes=3)
    await given.check_ins(me, venue_id, 1, start=earlier)

    async with app_process(check_in_dedupe_minutes=2) as graphql:
        answer = await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)

    assert answer["data"]["checkIn"]["alreadyCheckedIn"] is False
    assert len(await given.check_in_rows(citizen_id=me)) == 2


async def test_a_citizen_never_joins_another_citizens_check_in(engines, given):
    venue = await given.venue()
    at = datetime.now(UTC)
    ids = set()
    for _ in range(3):
        citizen = await given.citizen()
        async with engines[Store.CORE].begin() as core:
            ids.add(
                (await capture(core, Scan(venue, at, CheckInMethod.APP_SCAN, citizen), WINDOW)).id
            )

    assert len(ids) == 3


async def test_a_second_scan_with_a_declaration_gives_it_to_the_check_in_made_without(
    graphql, given, qr
):
    me = await given.citizen()
    _, payload = await _venue_payload(given, qr)

    await graphql.query(CHECK_IN, {"payload": payload}, as_citizen=me)
    second = await graphql.query(
        CHECK_IN, {"payload": payload, "declaration": {"fever": True}}, as_citizen=me
    )

    assert second["data"]["checkIn"]["alreadyCheckedIn"] is True
    assert second["data"]["checkIn"]["checkIn"]["healthDeclaration"]["fever"] is True
    (row,) = await given.check_in_rows(citizen_id=me)
    assert row.declaration == {"fever": True}


async def _scan(engines, venue, citizen, at, declaration=None):
    scan = Scan(venue, at, CheckInMethod.APP_SCAN, citizen, declaration=declaration)
    async with engines[Store.CORE].begin() as core:
        return await capture(core, scan, WINDOW)


async def test_of_the_declarations_joined_into_one_check_in_the_one_answered_last_is_kept(
    engines, given
):
    citizen, venue = await given.citizen(), await given.venue()
    at = datetime.now(UTC) - timedelta(hours=1)

    first = await _scan(engines, venue, citizen, at, {"fever": False})
    await _scan(engines, venue, citizen, at + timedelta(minutes=5), {"fever": True})
    # An offline scan answered in between arrives last: it is older than the kept answer.
    await _scan(engines, venue, citizen, at + timedelta(minutes=3), {"cough": True})
    # A scan without a declaration never erases one.
    await _scan(engines, venue, citizen, at + timedelta(minutes=6))

    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert (row.id, row.checked_in_at) == (first.id, at)
    assert row.declaration == {"fever": True}
    assert row.declared_at == at + timedelta(minutes=5)


async def test_a_declaration_answered_at_the_same_moment_as_the_kept_one_changes_nothing(
    engines, given
):
    citizen, venue = await given.citizen(), await given.venue()
    at = datetime.now(UTC) - timedelta(hours=1)

    await _scan(engines, venue, citizen, at, {"fever": False})
    await _scan(engines, venue, citizen, at, {"fever": True})

    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert row.declaration == {"fever": False}


async def test_a_declaration_outside_the_window_stays_with_its_own_check_in(engines, given):
    citizen, venue = await given.citizen(), await given.venue()
    at = datetime.now(UTC) - timedelta(hours=1)

    await _scan(engines, venue, citizen, at, {"fever": False})
    await _scan(engines, venue, citizen, at + WINDOW, {"fever": True})

    rows = await given.check_in_rows(citizen_id=citizen)
    assert [row.declaration for row in rows] == [{"fever": False}, {"fever": True}]
