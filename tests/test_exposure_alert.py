"""Marking a case alerts everyone who was near it, without ever naming the case."""

import json
from datetime import UTC, datetime, timedelta

from strawberry import relay

from models.checkin import CheckInMethod
from models.venue import VenueKind

MARK_CASE = """
mutation($input: MarkCaseInput!) {
  markCase(input: $input) { alertsRaised citizensAlerted userErrors { field code message } }
}
"""
MY_ALERTS = """
{ me { exposureAlerts { id venue { name kind } exposedAt raisedAt watchUntil advice } } }
"""
NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def node_id(citizen_id):
    return relay.to_base64("Citizen", citizen_id)


def mark_input(case, *, overlap=60, days=1):
    return {
        "input": {
            "caseCitizenId": node_id(case),
            "from": (NOON - timedelta(days=days)).isoformat(),
            "to": (NOON + timedelta(days=days)).isoformat(),
            "overlapMinutes": overlap,
        }
    }


async def health_authority(partners, province="24"):
    return await partners.create(
        "exposures:read", "exposures:authority", name="CDC Bắc Giang", province_code=province
    )


async def a_case_and_a_contact_at_the_market(given):
    case = await given.citizen(full_name="Phạm Văn Đức", phone="0911222333")
    contact = await given.citizen(full_name="Trần Thị Bình")
    market = await given.venue(VenueKind.MARKET, name="Chợ Lục Ngạn")
    await given.check_in(case, market, NOON)
    await given.check_in(contact, market, NOON + timedelta(minutes=20))
    return case, contact


async def test_marking_a_case_alerts_the_contact_with_venue_time_and_what_to_do(
    graphql, given, partners
):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token

    marked = await graphql.query(MARK_CASE, mark_input(case), token=token)

    assert marked["data"]["markCase"] == {
        "alertsRaised": 1,
        "citizensAlerted": 1,
        "userErrors": [],
    }
    alerts = (await graphql.query(MY_ALERTS, as_citizen=contact))["data"]["me"]["exposureAlerts"]
    [alert] = alerts
    assert alert["venue"] == {"name": "Chợ Lục Ngạn", "kind": "MARKET"}
    assert alert["exposedAt"] == "2026-11-10T12:20:00+00:00"
    assert alert["watchUntil"] == "2026-11-24"
    assert "get tested" in alert["advice"]


async def test_the_case_gets_no_alert_about_themselves(graphql, given, partners):
    case, _ = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token

    await graphql.query(MARK_CASE, mark_input(case), token=token)

    mine = await graphql.query(MY_ALERTS, as_citizen=case)
    assert mine["data"]["me"]["exposureAlerts"] == []


async def test_an_alert_never_reveals_the_case(graphql, given, partners):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token
    await graphql.query(MARK_CASE, mark_input(case), token=token)

    body = await graphql.query(MY_ALERTS, as_citizen=contact)

    text = json.dumps(body, ensure_ascii=False)
    case_traits = (str(case), node_id(case), "Phạm Văn Đức", "0911222333", "2026-11-10T12:00")
    assert [trait for trait in case_traits if trait in text] == []


async def test_marking_the_same_case_again_raises_no_second_alert(graphql, given, partners):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token

    first = await graphql.query(MARK_CASE, mark_input(case), token=token)
    again = await graphql.query(MARK_CASE, mark_input(case), token=token)

    assert first["data"]["markCase"]["alertsRaised"] == 1
    assert again["data"]["markCase"]["alertsRaised"] == 0
    alerts = (await graphql.query(MY_ALERTS, as_citizen=contact))["data"]["me"]["exposureAlerts"]
    assert len(alerts) == 1


async def test_marking_again_over_a_longer_period_alerts_only_the_newly_found(
    graphql, given, partners
):
    case, _ = await a_case_and_a_contact_at_the_market(given)
    later = await given.citizen()
    cafe = await given.venue(name="Cà phê Sông Cầu")
    await given.check_in(case, cafe, NOON + timedelta(days=3))
    await given.check_in(later, cafe, NOON + timedelta(days=3, minutes=5))
    token = (await health_authority(partners)).token

    first = await graphql.query(MARK_CASE, mark_input(case, days=1), token=token)
    wider = await graphql.query(MARK_CASE, mark_input(case, days=5), token=token)

    assert first["data"]["markCase"]["alertsRaised"] == 1
    assert wider["data"]["markCase"]["alertsRaised"] == 1


async def test_the_case_sees_that_an_authority_marked_them(graphql, given, partners):
    case, _ = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token

    await graphql.query(MARK_CASE, mark_input(case), token=token)

    log = await graphql.query(
        "{ me { accessLog { edges { node { action actorName } } } } }", as_citizen=case
    )
    actions = [e["node"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert actions == [{"action": "MARK_CASE", "actorName": "CDC Bắc Giang"}]


async def test_an_authority_of_another_province_cannot_mark_the_case(graphql, given, partners):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners, province="01")).token

    body = await graphql.query(MARK_CASE, mark_input(case), token=token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    alerts = (await graphql.query(MY_ALERTS, as_citizen=contact))["data"]["me"]["exposureAlerts"]
    assert alerts == []


async def test_a_tracing_app_without_the_authority_scope_cannot_mark_a_case(
    graphql, given, partners
):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await partners.create("exposures:read", province_code="24")).token

    body = await graphql.query(MARK_CASE, mark_input(case), token=token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    alerts = (await graphql.query(MY_ALERTS, as_citizen=contact))["data"]["me"]["exposureAlerts"]
    assert alerts == []


async def test_a_bad_overlap_is_a_user_error_and_raises_nothing(graphql, given, partners):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    token = (await health_authority(partners)).token

    body = await graphql.query(MARK_CASE, mark_input(case, overlap=5000), token=token)

    assert body["data"]["markCase"]["alertsRaised"] == 0
    [error] = body["data"]["markCase"]["userErrors"]
    assert (error["field"], error["code"]) == ("overlapMinutes", "INVALID_VALUE")
    alerts = (await graphql.query(MY_ALERTS, as_citizen=contact))["data"]["me"]["exposureAlerts"]
    assert alerts == []


async def test_another_citizen_never_sees_someone_elses_alerts(graphql, given, partners):
    case, contact = await a_case_and_a_contact_at_the_market(given)
    bystander = await given.citizen()
    token = (await health_authority(partners)).token
    await graphql.query(MARK_CASE, mark_input(case), token=token)

    theirs = await graphql.query(MY_ALERTS, as_citizen=bystander)
    mine = await graphql.query(MY_ALERTS, as_citizen=contact)

    assert theirs["data"]["me"]["exposureAlerts"] == []
    assert len(mine["data"]["me"]["exposureAlerts"]) == 1


async def test_everyone_on_the_bus_trip_is_alerted_and_an_unlinked_scan_is_left_to_the_authority(
    graphql, given, partners
):
    case, rider = await given.citizen(), await given.citizen()
    bus = await given.venue(VenueKind.WORKER_BUS, name="Xe đưa đón KCN Quang Châu")
    await given.check_in(case, bus, NOON, trip_id="chieu")
    await given.check_in(rider, bus, NOON + timedelta(hours=2), trip_id="chieu")
    await given.check_in(
        None,
        bus,
        NOON + timedelta(minutes=5),
        method=CheckInMethod.STAFF_SCAN_INSURANCE,
        insurance_number="GD4240123456789",
        trip_id="chieu",
    )
    token = (await health_authority(partners)).token

    marked = await graphql.query(MARK_CASE, mark_input(case, overlap=15), token=token)

    assert marked["data"]["markCase"]["alertsRaised"] == 1
    alerts = (await graphql.query(MY_ALERTS, as_citizen=rider))["data"]["me"]["exposureAlerts"]
    assert [a["exposedAt"] for a in alerts] == ["2026-11-10T14:00:00+00:00"]
