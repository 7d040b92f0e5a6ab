"""Venue staff check citizens in at their own venues: by insurance number (kept unlinked
until someone verifies it) or personal QR card, live or in offline batches."""

from datetime import UTC, datetime, timedelta

from auth.qr import CodeKind
from models.venue import VenueKind

STAFF_CHECK_IN = """
mutation($input: StaffCheckInInput!) {
  staffCheckIn(input: $input) {
    checkIn { id venueCode venueName checkedInAt linked }
    alreadyCheckedIn
    userErrors { field code message }
  }
}
"""
STAFF_CHECK_INS = """
mutation($items: [StaffScanInput!]!) {
  staffCheckIns(items: $items) {
    results { clientId status checkIn { id linked checkedInAt } userErrors { field code } }
  }
}
"""
INSURANCE = "HS4240123456789"
PERSONAL_QR = "query { me { personalQr { payload } } }"


async def _operator_with_venue(partners, given, kind=VenueKind.RESTAURANT, **venue):
    operator = await partners.create("checkins:staff")
    venue_id = await given.venue(kind, operator_id=operator.partner_id, **venue)
    return operator, venue_id, await given.venue_code(venue_id)


async def test_staff_check_in_a_citizen_by_their_verified_insurance_number(
    graphql, given, partners
):
    citizen = await given.citizen(insurance_number=INSURANCE)
    operator, venue_id, code = await _operator_with_venue(partners, given, name="Chợ Chũ")

    answer = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "insuranceNumber": INSURANCE.lower()}},
        token=operator.token,
    )

    result = answer["data"]["staffCheckIn"]
    assert result["userErrors"] == []
    assert result["checkIn"]["venueName"] == "Chợ Chũ"
    assert result["checkIn"]["linked"] is True
    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert (row.method, row.venue_id, row.operator_id) == (
        "STAFF_SCAN_INSURANCE",
        venue_id,
        operator.partner_id,
    )


async def test_staff_at_another_operators_venue_are_refused(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    _, _, theirs = await _operator_with_venue(partners, given)
    mine, _, own = await _operator_with_venue(partners, given)

    refused = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": theirs, "insuranceNumber": INSURANCE}},
        token=mine.token,
    )
    allowed = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": own, "insuranceNumber": INSURANCE}},
        token=mine.token,
    )

    (error,) = refused["data"]["staffCheckIn"]["userErrors"]
    assert (error["code"], error["field"]) == ("NOT_YOUR_VENUE", "venueCode")
    assert refused["data"]["staffCheckIn"]["checkIn"] is None
    assert allowed["data"]["staffCheckIn"]["userErrors"] == []
    assert len(await given.check_in_rows()) == 1


async def test_staff_check_in_needs_the_checkins_staff_scope(graphql, given, partners):
    reader = await partners.create("citizen:read:checkins")
    operator = await partners.create("checkins:staff")
    venue_id = await given.venue(operator_id=reader.partner_id)
    code = await given.venue_code(venue_id)
    variables = {"input": {"venueCode": code, "insuranceNumber": INSURANCE}}

    refused = await graphql.query(STAFF_CHECK_IN, variables, token=reader.token)
    anonymous = await graphql.query(STAFF_CHECK_IN, variables)
    allowed_scope = await graphql.query(STAFF_CHECK_IN, variables, token=operator.token)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The scope lets the request through; the venue is still someone else's.
    assert allowed_scope["data"]["staffCheckIn"]["userErrors"][0]["code"] == "NOT_YOUR_VENUE"


async def test_a_closed_venue_takes_no_staff_check_ins(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    operator, _, closed = await _operator_with_venue(partners, given, closed=True)

    answer = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": closed, "insuranceNumber": INSURANCE}},
        token=operator.token,
    )

    assert answer["data"]["staffCheckIn"]["userErrors"][0]["code"] == "VENUE_CLOSED"
    assert await given.check_in_rows() == []


async def test_an_unknown_insurance_number_is_kept_unlinked_and_links_once_verified(
    graphql, given, partners
):
    operator, venue_id, code = await _operator_with_venue(partners, given)
    verifier = await partners.create("identity:verify")
    citizen = await given.citizen(unverified={"BHYT": INSURANCE})

    answer = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "insuranceNumber": INSURANCE}},
        token=operator.token,
    )

    result = answer["data"]["staffCheckIn"]
    (warning,) = result["userErrors"]
    assert (warning["code"], warning["field"]) == ("UNKNOWN_INSURANCE_NUMBER", "insuranceNumber")
    assert result["checkIn"]["linked"] is False
    (kept,) = await given.check_in_rows(venue_id=venue_id)
    assert kept.citizen_id is None and kept.insurance_number == INSURANCE

    verified = await graphql.query(
        """mutation($id: ID!, $bhyt: String) { verifyIdentity(input: {citizenId: $id,
           insuranceNumber: $bhyt}) { verified userErrors { code } } }""",
        {"id": str(citizen), "bhyt": INSURANCE},
        token=verifier.token,
    )

    assert verified["data"]["verifyIdentity"]["verified"] == ["BHYT"]
    (linked,) = await given.check_in_rows(venue_id=venue_id)
    assert linked.citizen_id == citizen
    mine = await graphql.query(
        "query { me { checkIns { edges { node { method venue { code } } } } } }",
        as_citizen=citizen,
    )
    (edge,) = mine["data"]["me"]["checkIns"]["edges"]
    assert edge["node"] == {"method": "STAFF_SCAN_INSURANCE", "venue": {"code": code}}


async def test_a_claimed_but_unverified_insurance_number_links_nobody(graphql, given, partners):
    operator, venue_id, code = await _operator_with_venue(partners, given)
    await given.citizen(unverified={"BHYT": INSURANCE})

    await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "insuranceNumber": INSURANCE}},
        token=operator.token,
    )

    (kept,) = await given.check_in_rows(venue_id=venue_id)
    assert kept.citizen_id is None


async def test_a_malformed_insurance_number_is_refused(graphql, given, partners):
    operator, _, code = await _operator_with_venue(partners, given)

    answer = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "insuranceNumber": "12345"}},
        token=operator.token,
    )

    (error,) = answer["data"]["staffCheckIn"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_VALUE", "insuranceNumber")
    assert await given.check_in_rows() == []


async def test_staff_check_in_by_a_personal_qr_card_and_a_replaced_card_is_refused(
    graphql, given, partners
):
    citizen = await given.citizen()
    operator, _, code = await _operator_with_venue(partners, given)
    card = (await graphql.query(PERSONAL_QR, as_citizen=citizen))["data"]["me"]["personalQr"]

    by_card = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "personalQr": card["payload"]}},
        token=operator.token,
    )
    await graphql.query("mutation { renewPersonalQr { payload } }", as_citizen=citizen)
    by_old_card = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "personalQr": card["payload"]}},
        token=operator.token,
    )

    assert by_card["data"]["staffCheckIn"]["userErrors"] == []
    assert by_card["data"]["staffCheckIn"]["checkIn"]["linked"] is True
    assert by_old_card["data"]["staffCheckIn"]["userErrors"][0]["code"] == "CARD_REVOKED"
    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert row.method == "STAFF_SCAN_PRINTED_QR"


async def test_a_forged_personal_card_or_a_venue_code_in_its_place_is_refused(
    graphql, given, partners, qr
):
    operator, _, code = await _operator_with_venue(partners, given)

    for payload in ("HG:P:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAA", qr.sign(CodeKind.VENUE, code)):
        answer = await graphql.query(
            STAFF_CHECK_IN,
            {"input": {"venueCode": code, "personalQr": payload}},
            token=operator.token,
        )
        assert answer["data"]["staffCheckIn"]["userErrors"][0]["code"] == "INVALID_QR_CODE"
    unissued = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "personalQr": qr.sign(CodeKind.PERSONAL, "NOCARD")}},
        token=operator.token,
    )
    assert unissued["data"]["staffCheckIn"]["userErrors"][0]["code"] == "INVALID_QR_CODE"
    assert await given.check_in_rows() == []


async def test_staff_give_one_way_of_identifying_the_citizen(graphql, given, partners):
    operator, _, code = await _operator_with_venue(partners, given)

    neither = await graphql.query(
        STAFF_CHECK_IN, {"input": {"venueCode": code}}, token=operator.token
    )

    assert neither["data"]["staffCheckIn"]["userErrors"][0]["code"] == "INVALID_VALUE"


async def test_a_worker_bus_check_in_keeps_its_trip(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    operator, bus, code = await _operator_with_venue(partners, given, VenueKind.WORKER_BUS)
    operator_restaurant = await given.venue(operator_id=operator.partner_id)
    restaurant = await given.venue_code(operator_restaurant)

    on_bus = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": code, "insuranceNumber": INSURANCE, "tripId": "2026-12-01-AM"}},
        token=operator.token,
    )
    not_a_bus = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": restaurant, "insuranceNumber": INSURANCE, "tripId": "T1"}},
        token=operator.token,
    )

    assert on_bus["data"]["staffCheckIn"]["userErrors"] == []
    (row,) = await given.check_in_rows(venue_id=bus)
    assert row.trip_id == "2026-12-01-AM"
    assert not_a_bus["data"]["staffCheckIn"]["userErrors"][0]["field"] == "tripId"


def _item(client_id, code, at, number=INSURANCE):
    return {
        "clientId": client_id,
        "scannedAt": at.isoformat(),
        "venueCode": code,
        "insuranceNumber": number,
    }


async def test_an_offline_batch_resent_whole_or_in_part_adds_nothing_twice(
    graphql, given, partners
):
    numbers = [f"HS42401234567{n:02d}" for n in range(4)]
    for number in numbers:
        await given.citizen(insurance_number=number)
    operator, venue_id, code = await _operator_with_venue(partners, given)
    at = datetime.now(UTC) - timedelta(hours=5)
    items = [_item(f"dev1-{n}", code, at + timedelta(minutes=n), numbers[n]) for n in range(4)]

    first = await graphql.query(STAFF_CHECK_INS, {"items": items}, token=operator.token)
    again = await graphql.query(STAFF_CHECK_INS, {"items": items}, token=operator.token)
    part = await graphql.query(STAFF_CHECK_INS, {"items": items[1:3]}, token=operator.token)

    first_results = first["data"]["staffCheckIns"]["results"]
    assert [r["status"] for r in first_results] == ["RECORDED"] * 4
    assert [r["clientId"] for r in first_results] == [f"dev1-{n}" for n in range(4)]
    again_results = again["data"]["staffCheckIns"]["results"]
    assert [r["status"] for r in again_results] == ["ALREADY_RECEIVED"] * 4
    assert [r["checkIn"]["id"] for r in again_results] == [
        r["checkIn"]["id"] for r in first_results
    ]
    assert [r["status"] for r in part["data"]["staffCheckIns"]["results"]] == [
        "ALREADY_RECEIVED"
    ] * 2
    rows = await given.check_in_rows(venue_id=venue_id)
    assert len(rows) == 4
    assert min(row.checked_in_at for row in rows) == at


async def test_a_batch_item_refused_does_not_stop_the_others(graphql, given, partners, settings):
    await given.citizen(insurance_number=INSURANCE)
    operator, venue_id, code = await _operator_with_venue(partners, given)
    now = datetime.now(UTC)
    old = now - timedelta(days=settings.check_in_retention_days, minutes=1)
    items = [
        _item("future", code, now + timedelta(minutes=5)),
        _item("too-old", code, old),
        _item("fine", code, now - timedelta(days=settings.check_in_retention_days - 1)),
        _item("bad-number", code, now, "nope"),
    ]

    answer = await graphql.query(STAFF_CHECK_INS, {"items": items}, token=operator.token)

    results = {r["clientId"]: r for r in answer["data"]["staffCheckIns"]["results"]}
    assert results["future"]["status"] == "REFUSED"
    assert results["future"]["userErrors"] == [{"field": "scannedAt", "code": "SCAN_IN_FUTURE"}]
    assert results["too-old"]["userErrors"] == [
        {"field": "scannedAt", "code": "SCAN_PAST_RETENTION"}
    ]
    assert results["fine"]["status"] == "RECORDED"
    assert results["bad-number"]["status"] == "REFUSED"
    assert len(await given.check_in_rows(venue_id=venue_id)) == 1


async def test_a_refused_item_sent_again_once_fixed_is_recorded(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    operator, venue_id, code = await _operator_with_venue(partners, given)
    at = datetime.now(UTC) - timedelta(minutes=30)

    refused = await graphql.query(
        STAFF_CHECK_INS, {"items": [_item("x1", code, at, "typo")]}, token=operator.token
    )
    fixed = await graphql.query(
        STAFF_CHECK_INS, {"items": [_item("x1", code, at)]}, token=operator.token
    )

    assert refused["data"]["staffCheckIns"]["results"][0]["status"] == "REFUSED"
    assert fixed["data"]["staffCheckIns"]["results"][0]["status"] == "RECORDED"
    assert len(await given.check_in_rows(venue_id=venue_id)) == 1


async def test_two_scans_of_one_person_in_a_batch_within_the_window_join(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    operator, venue_id, code = await _operator_with_venue(partners, given)
    at = datetime.now(UTC) - timedelta(hours=2)
    items = [_item("a", code, at), _item("b", code, at + timedelta(minutes=4))]

    answer = await graphql.query(STAFF_CHECK_INS, {"items": items}, token=operator.token)

    statuses = [r["status"] for r in answer["data"]["staffCheckIns"]["results"]]
    assert statuses == ["RECORDED", "JOINED"]
    assert len(await given.check_in_rows(venue_id=venue_id)) == 1


async def test_an_offline_batch_out_of_order_keeps_the_declaration_answered_last(
    graphql, given, partners
):
    citizen = await given.citizen(insurance_number=INSURANCE)
    operator, _, code = await _operator_with_venue(partners, given)
    at = datetime.now(UTC) - timedelta(hours=2)
    later = {**_item("later", code, at + timedelta(minutes=6)), "declaration": {"cough": True}}
    first = {**_item("first", code, at), "declaration": {"fever": True}}
    bare = _item("bare", code, at + timedelta(minutes=8))

    answer = await graphql.query(
        STAFF_CHECK_INS, {"items": [later, first, bare]}, token=operator.token
    )

    statuses = [r["status"] for r in answer["data"]["staffCheckIns"]["results"]]
    assert statuses == ["RECORDED", "JOINED", "JOINED"]
    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert row.declaration == {"cough": True}


async def test_client_ids_are_per_operator(graphql, given, partners):
    await given.citizen(insurance_number=INSURANCE)
    one, _, code_one = await _operator_with_venue(partners, given)
    two, venue_two, code_two = await _operator_with_venue(partners, given)
    at = datetime.now(UTC) - timedelta(hours=1)

    await graphql.query(STAFF_CHECK_INS, {"items": [_item("s1", code_one, at)]}, token=one.token)
    other = await graphql.query(
        STAFF_CHECK_INS, {"items": [_item("s1", code_two, at)]}, token=two.token
    )

    assert other["data"]["staffCheckIns"]["results"][0]["status"] == "RECORDED"
    assert len(await given.check_in_rows(venue_id=venue_two)) == 1
