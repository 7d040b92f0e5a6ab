"""The zone around a case: who was at the same venue within the overlap window."""

import uuid
from datetime import UTC, datetime, timedelta

from strawberry import relay

from models.checkin import CheckInMethod
from models.venue import VenueKind

EXPOSURES = """
query($case: ID!, $from: DateTime!, $to: DateTime!, $overlap: Int) {
  exposures(caseCitizenId: $case, from: $from, to: $to, overlapMinutes: $overlap) {
    venue { code name kind }
    caseCheckedInAt windowStart windowEnd
    tripId
    contacts { citizenId fullName phoneMasked phone insuranceNumber checkedInAt method sameTrip }
  }
}
"""
ACCESS_LOG = "{ me { accessLog { edges { node { action actorName sections } } } } }"

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def node_id(citizen_id):
    return relay.to_base64("Citizen", citizen_id)


def period(around=NOON, days=1):
    return {
        "from": (around - timedelta(days=days)).isoformat(),
        "to": (around + timedelta(days=days)).isoformat(),
    }


async def authority(partners, *, province="24", full_phones=False):
    scopes = ["exposures:read"] + (["exposures:authority"] if full_phones else [])
    return await partners.create(*scopes, name="CDC Bắc Giang", province_code=province)


async def trace(graphql, token, case, overlap=60, **window):
    variables = {"case": node_id(case), "overlap": overlap, **(window or period())}
    return await graphql.query(EXPOSURES, variables, token=token)


def contact_times(body):
    return [
        [contact["checkedInAt"] for contact in exposure["contacts"]]
        for exposure in body["data"]["exposures"]
    ]


async def test_a_contact_exactly_overlap_minutes_apart_counts_and_one_second_more_does_not(
    graphql, given, partners
):
    case, at_edge, beyond = await given.citizen(), await given.citizen(), await given.citizen()
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(at_edge, venue, NOON + timedelta(minutes=30))
    await given.check_in(beyond, venue, NOON - timedelta(minutes=30, seconds=1))
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, overlap=30)

    assert "errors" not in body, body
    [exposure] = body["data"]["exposures"]
    assert [c["citizenId"] for c in exposure["contacts"]] == [node_id(at_edge)]
    assert exposure["windowStart"] == "2026-11-10T11:30:00+00:00"
    assert exposure["windowEnd"] == "2026-11-10T12:30:00+00:00"


async def test_a_contact_exactly_overlap_minutes_before_counts_too(graphql, given, partners):
    case, before = await given.citizen(), await given.citizen()
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(before, venue, NOON - timedelta(minutes=30))
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, overlap=30)

    assert contact_times(body) == [["2026-11-10T11:30:00+00:00"]]


async def test_a_window_across_midnight_finds_the_contact_on_the_next_day(graphql, given, partners):
    case, contact = await given.citizen(), await given.citizen()
    venue = await given.venue(VenueKind.HOTEL)
    late = datetime(2026, 11, 10, 23, 40, tzinfo=UTC)
    await given.check_in(case, venue, late)
    await given.check_in(contact, venue, late + timedelta(minutes=45))
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, **period(late))

    assert contact_times(body) == [["2026-11-11T00:25:00+00:00"]]


async def test_a_window_across_a_month_boundary_reads_both_partitions(graphql, given, partners):
    case, before, after = await given.citizen(), await given.citizen(), await given.citizen()
    venue = await given.venue(VenueKind.MARKET)
    month_end = datetime(2026, 10, 31, 23, 50, tzinfo=UTC)
    await given.check_in(case, venue, month_end)
    await given.check_in(before, venue, month_end - timedelta(minutes=20))
    await given.check_in(after, venue, month_end + timedelta(minutes=20))
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, **period(month_end))

    assert contact_times(body) == [["2026-10-31T23:30:00+00:00", "2026-11-01T00:10:00+00:00"]]


async def test_a_case_check_in_just_after_the_period_is_not_traced(graphql, given, partners):
    case, contact = await given.citizen(), await given.citizen()
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON)
    token = (await authority(partners)).token
    ending_at_noon = {"from": (NOON - timedelta(days=1)).isoformat(), "to": NOON.isoformat()}
    ending_before = {
        "from": (NOON - timedelta(days=1)).isoformat(),
        "to": (NOON - timedelta(seconds=1)).isoformat(),
    }

    included = await trace(graphql, token, case, **ending_at_noon)
    excluded = await trace(graphql, token, case, **ending_before)

    assert len(included["data"]["exposures"]) == 1
    assert excluded["data"]["exposures"] == []


async def test_exposures_are_grouped_by_case_check_in_in_time_order_with_other_venues_apart(
    graphql, given, partners
):
    case, market_friend, cafe_friend = (
        await given.citizen(),
        await given.citizen(full_name="Trần Thị Bình"),
        await given.citizen(full_name="Lê Văn Cường"),
    )
    market = await given.venue(VenueKind.MARKET, name="Chợ Lục Ngạn")
    cafe = await given.venue(VenueKind.RESTAURANT, name="Cà phê Sông Cầu")
    await given.check_in(case, cafe, NOON + timedelta(hours=3))
    await given.check_in(case, market, NOON)
    await given.check_in(market_friend, market, NOON + timedelta(minutes=10))
    await given.check_in(cafe_friend, cafe, NOON + timedelta(hours=3, minutes=5))
    await given.check_in(cafe_friend, market, NOON + timedelta(hours=2))  # outside the window
    token = (await authority(partners)).token

    body = await trace(graphql, token, case)

    groups = [
        (e["venue"]["name"], [c["fullName"] for c in e["contacts"]])
        for e in body["data"]["exposures"]
    ]
    assert groups == [("Chợ Lục Ngạn", ["Trần Thị Bình"]), ("Cà phê Sông Cầu", ["Lê Văn Cường"])]


async def test_a_case_check_in_with_nobody_near_it_is_listed_with_no_contacts(
    graphql, given, partners
):
    case = await given.citizen()
    await given.check_in(case, await given.venue(), NOON)
    token = (await authority(partners)).token

    body = await trace(graphql, token, case)

    assert [e["contacts"] for e in body["data"]["exposures"]] == [[]]


async def test_the_tracing_app_sees_masked_phones_only(graphql, given, partners):
    case, contact = await given.citizen(), await given.citizen(phone="0987654321")
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON)
    token = (await authority(partners, full_phones=False)).token

    body = await trace(graphql, token, case)

    [contact_seen] = body["data"]["exposures"][0]["contacts"]
    assert contact_seen["phone"] is None
    assert contact_seen["phoneMasked"] == "098****321"


async def test_the_health_authority_sees_full_phones(graphql, given, partners):
    case, contact = await given.citizen(), await given.citizen(phone="0987654321")
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON)
    token = (await authority(partners, full_phones=True)).token

    body = await trace(graphql, token, case)

    [contact_seen] = body["data"]["exposures"][0]["contacts"]
    assert contact_seen["phone"] == "0987654321"


async def test_a_contact_without_a_phone_is_in_the_zone_by_name_for_the_authority_to_find(
    graphql, given, partners
):
    case = await given.citizen()
    contact = await given.citizen(full_name="Lê Thị Hoa", without_phone=True)
    venue = await given.venue(VenueKind.MARKET)
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON, method=CheckInMethod.STAFF_SCAN_PRINTED_QR)
    token = (await authority(partners, full_phones=True)).token

    body = await trace(graphql, token, case)

    [contact_seen] = body["data"]["exposures"][0]["contacts"]
    assert contact_seen["citizenId"] == node_id(contact)
    assert contact_seen["fullName"] == "Lê Thị Hoa"
    assert (contact_seen["phone"], contact_seen["phoneMasked"]) == (None, None)
    assert contact_seen["method"] == "STAFF_SCAN_PRINTED_QR"


async def test_a_case_without_a_phone_is_traced_like_any_other(graphql, given, partners):
    case = await given.citizen(without_phone=True)
    contact = await given.citizen(phone="0987654321")
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON)
    token = (await authority(partners)).token

    body = await trace(graphql, token, case)

    [contact_seen] = body["data"]["exposures"][0]["contacts"]
    assert contact_seen["phoneMasked"] == "098****321"


async def test_an_authority_traces_a_case_of_its_own_province(graphql, given, partners):
    case = await given.citizen(province_code="24")
    await given.check_in(case, await given.venue(), NOON)
    token = (await authority(partners, province="24")).token

    body = await trace(graphql, token, case)

    assert "errors" not in body
    assert len(body["data"]["exposures"]) == 1


async def test_an_authority_of_another_province_is_refused_like_for_an_unknown_citizen(
    graphql, given, partners
):
    case = await given.citizen(province_code="24")
    await given.check_in(case, await given.venue(), NOON)
    token = (await authority(partners, province="01")).token

    other_province = await trace(graphql, token, case)
    unknown = await trace(graphql, token, uuid.uuid4())

    assert other_province["data"] is None
    assert other_province["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert other_province["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_a_token_without_a_province_is_refused(graphql, given, partners):
    case = await given.citizen()
    token = (await partners.create("exposures:read", "exposures:authority")).token

    body = await trace(graphql, token, case)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_partner_without_the_exposures_scope_is_refused(graphql, given, partners):
    case = await given.citizen()
    token = (await partners.create("citizen:read:checkins", province_code="24")).token

    body = await trace(graphql, token, case)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_citizen_cannot_trace_anyone_not_even_themselves(graphql, given):
    case = await given.citizen()
    variables = {"case": node_id(case), **period()}

    body = await graphql.query(EXPOSURES, variables, as_citizen=case)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_anonymous_caller_must_authenticate(graphql, given):
    case = await given.citizen()

    body = await graphql.query(EXPOSURES, {"case": node_id(case), **period()})

    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_case_sees_in_their_access_log_that_an_authority_traced_them(
    graphql, given, partners
):
    case, contact = await given.citizen(), await given.citizen()
    venue = await given.venue()
    await given.check_in(case, venue, NOON)
    await given.check_in(contact, venue, NOON)
    token = (await authority(partners)).token

    await trace(graphql, token, case)

    case_log = await graphql.query(ACCESS_LOG, as_citizen=case)
    contact_log = await graphql.query(ACCESS_LOG, as_citizen=contact)
    [case_entry] = [e["node"] for e in case_log["data"]["me"]["accessLog"]["edges"]]
    assert case_entry == {"action": "TRACE", "actorName": "CDC Bắc Giang", "sections": ["checkins"]}
    [contact_entry] = [e["node"] for e in contact_log["data"]["me"]["accessLog"]["edges"]]
    assert contact_entry["action"] == "READ"
    assert contact_entry["sections"] == ["checkins", "profile"]


async def test_a_refused_trace_leaves_nothing_in_the_access_log(graphql, given, partners):
    case = await given.citizen(province_code="24")
    await given.check_in(case, await given.venue(), NOON)
    token = (await authority(partners, province="01")).token

    await trace(graphql, token, case)

    log = await graphql.query(ACCESS_LOG, as_citizen=case)
    assert log["data"]["me"]["accessLog"]["edges"] == []


async def test_an_overlap_out_of_range_is_bad_input_naming_the_argument(graphql, given, partners):
    case = await given.citizen()
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, overlap=-1)

    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": "overlapMinutes",
    }


async def test_a_period_that_ends_before_it_starts_is_bad_input(graphql, given, partners):
    case = await given.citizen()
    token = (await authority(partners)).token
    backwards = {"from": NOON.isoformat(), "to": (NOON - timedelta(hours=1)).isoformat()}

    body = await trace(graphql, token, case, **backwards)

    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "to"}


async def test_an_unlinked_staff_check_in_appears_with_its_insurance_number(
    graphql, given, partners
):
    case = await given.citizen()
    venue = await given.venue(VenueKind.LYCHEE_WEIGHING_STATION, name="Trạm cân vải Phượng Sơn")
    await given.check_in(case, venue, NOON)
    await given.check_in(
        None,
        venue,
        NOON + timedelta(minutes=15),
        method=CheckInMethod.STAFF_SCAN_INSURANCE,
        insurance_number="GD4240123456789",
    )
    token = (await authority(partners, full_phones=True)).token

    body = await trace(graphql, token, case)

    [contact] = body["data"]["exposures"][0]["contacts"]
    assert contact == {
        "citizenId": None,
        "fullName": None,
        "phoneMasked": None,
        "phone": None,
        "insuranceNumber": "GD4240123456789",
        "checkedInAt": "2026-11-10T12:15:00+00:00",
        "method": "STAFF_SCAN_INSURANCE",
        "sameTrip": False,
    }


async def test_everyone_on_the_same_bus_trip_was_together_whatever_the_time(
    graphql, given, partners
):
    case, first_stop, last_stop = (
        await given.citizen(),
        await given.citizen(),
        await given.citizen(),
    )
    bus = await given.venue(VenueKind.WORKER_BUS, name="Xe đưa đón KCN Quang Châu")
    await given.check_in(case, bus, NOON, trip_id="2026-11-10-chieu")
    await given.check_in(first_stop, bus, NOON - timedelta(hours=2), trip_id="2026-11-10-chieu")
    await given.check_in(last_stop, bus, NOON + timedelta(hours=3), trip_id="2026-11-10-chieu")
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, overlap=30)

    [exposure] = body["data"]["exposures"]
    assert exposure["tripId"] == "2026-11-10-chieu"
    assert [(c["citizenId"], c["sameTrip"]) for c in exposure["contacts"]] == [
        (node_id(first_stop), True),
        (node_id(last_stop), True),
    ]


async def test_another_trip_of_the_same_bus_is_not_together_even_within_the_window(
    graphql, given, partners
):
    case, next_trip, no_trip = await given.citizen(), await given.citizen(), await given.citizen()
    bus = await given.venue(VenueKind.WORKER_BUS)
    await given.check_in(case, bus, NOON, trip_id="sang")
    await given.check_in(next_trip, bus, NOON + timedelta(minutes=10), trip_id="chieu")
    await given.check_in(no_trip, bus, NOON + timedelta(minutes=10))
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, overlap=30)

    [exposure] = body["data"]["exposures"]
    assert [(c["citizenId"], c["sameTrip"]) for c in exposure["contacts"]] == [
        (node_id(no_trip), False)
    ]


async def test_a_trip_name_used_again_on_another_day_is_another_trip(graphql, given, partners):
    case, yesterday = await given.citizen(), await given.citizen()
    bus = await given.venue(VenueKind.WORKER_BUS)
    await given.check_in(case, bus, NOON, trip_id="sang")
    await given.check_in(yesterday, bus, NOON - timedelta(days=1, minutes=1), trip_id="sang")
    token = (await authority(partners)).token

    body = await trace(graphql, token, case, **period(days=2))

    assert body["data"]["exposures"][0]["contacts"] == []
