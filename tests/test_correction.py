"""A province office corrects the details it mistyped for a citizen of its province: every
bad field named, a number of another citizen refused, the correction in the citizen's access
log, and the citizen's records and staff scans matched again (never one an operator linked
by hand)."""

import uuid
from datetime import date

import pytest
from strawberry import relay

from models.venue import VenueKind
from tests.test_health_pass import health_pass, vaccinated_citizen, verify

REGISTER = """mutation($input: RegisterCitizenInput!) {
  registerCitizen(input: $input) { citizenId userErrors { field code } } }"""
CORRECT = """mutation($input: CorrectCitizenInput!) { correctCitizen(input: $input) {
  changed
  profile { fullName dateOfBirth dateOfBirthVerified district identifiers { kind value verified } }
  userErrors { field code message } } }"""
ACCESS_LOG = "{ me { accessLog { edges { node { action actorName sections } } } } }"
VACCINATIONS = "{ me { vaccinations { doseNumber } } }"
QUEUE = "{ unmatchedRecords { edges { node { id doseNumber } } } }"
RESOLVE = """mutation($input: ResolveUnmatchedInput!) { resolveUnmatched(input: $input) {
  userErrors { code } } }"""

BORN = date(1948, 3, 2)
CCCD = "024148000321"
MISTYPED_CCCD = "024148000312"
BHYT = "HT3242400067890"


@pytest.fixture
async def office(partners):
    return await partners.create("reconcile", name="Sở Y tế Bắc Giang", province_code="24")


async def register(graphql, office, **changes):
    person = {
        "fullName": "Lê Thị Hoa",
        "dateOfBirth": BORN.isoformat(),
        "district": "Lục Ngạn",
        "nationalId": CCCD,
        "insuranceNumber": BHYT,
        **changes,
    }
    answer = await graphql.query(REGISTER, {"input": person}, token=office.token)
    assert answer["data"]["registerCitizen"]["userErrors"] == [], answer
    return answer["data"]["registerCitizen"]["citizenId"]


async def correct(graphql, citizen, token=None, as_citizen=None, **fields):
    answer = await graphql.query(
        CORRECT, {"input": {"citizenId": citizen, **fields}}, token=token, as_citizen=as_citizen
    )
    return answer["data"]["correctCitizen"] if answer.get("data") else answer


def as_uuid(citizen):
    return uuid.UUID(relay.GlobalID.from_id(citizen).node_id)


async def doses_of(graphql, citizen):
    mine = await graphql.query(VACCINATIONS, as_citizen=as_uuid(citizen))
    return sorted(v["doseNumber"] for v in mine["data"]["me"]["vaccinations"])


async def actions_of(graphql, citizen):
    log = await graphql.query(ACCESS_LOG, as_citizen=as_uuid(citizen))
    return [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]]


def codes(answer):
    return sorted((e["field"], e["code"]) for e in answer["userErrors"])


async def test_an_office_corrects_a_mistyped_name_birth_date_and_district(graphql, office):
    citizen = await register(graphql, office, fullName="Le Thi Hao", dateOfBirth="1948-02-03")

    answer = await correct(
        graphql,
        citizen,
        office.token,
        fullName="Lê Thị  Hoa",
        dateOfBirth=BORN.isoformat(),
        district="Sơn Động",
    )

    assert answer["changed"] is True
    assert answer["userErrors"] == []
    profile = answer["profile"]
    assert (profile["fullName"], profile["dateOfBirth"], profile["district"]) == (
        "Lê Thị Hoa",
        BORN.isoformat(),
        "Sơn Động",
    )
    assert profile["dateOfBirthVerified"] is True
    log = await graphql.query(ACCESS_LOG, as_citizen=as_uuid(citizen))
    newest = log["data"]["me"]["accessLog"]["edges"][0]["node"]
    assert newest == {
        "action": "CORRECT",
        "actorName": "Sở Y tế Bắc Giang",
        "sections": ["identity", "profile"],
    }


async def test_correcting_to_what_the_citizen_holds_changes_nothing(graphql, office):
    citizen = await register(graphql, office)

    answer = await correct(
        graphql, citizen, office.token, fullName="Lê Thị Hoa", nationalId=CCCD, insuranceNumber=BHYT
    )

    assert (answer["changed"], answer["userErrors"]) == (False, [])
    assert await actions_of(graphql, citizen) == ["REGISTER"]


async def test_every_bad_field_is_named_and_nothing_is_written(graphql, office):
    citizen = await register(graphql, office)

    answer = await correct(
        graphql,
        citizen,
        office.token,
        fullName="  ",
        dateOfBirth="1850-01-01",
        district="x" * 101,
        nationalId="12345",
        insuranceNumber="HT3",
    )

    assert answer["changed"] is False
    assert codes(answer) == [
        ("dateOfBirth", "INVALID_VALUE"),
        ("district", "INVALID_VALUE"),
        ("fullName", "INVALID_VALUE"),
        ("insuranceNumber", "INVALID_IDENTIFIER"),
        ("nationalId", "INVALID_IDENTIFIER"),
    ]
    assert await actions_of(graphql, citizen) == ["REGISTER"]


@pytest.mark.parametrize("taken", [True, False])
async def test_a_number_verified_for_another_citizen_is_refused(graphql, given, office, taken):
    other_number = "024190000123"
    if taken:
        await given.citizen(phone="0912000333", national_id=other_number)
    citizen = await register(graphql, office)

    answer = await correct(
        graphql, citizen, office.token, nationalId=other_number, fullName="Lê Thị Hòa"
    )

    if taken:
        assert codes(answer) == [("nationalId", "IDENTIFIER_TAKEN")]
        # Nothing half-written: the name stays too.
        me = await graphql.query("{ me { fullName } }", as_citizen=as_uuid(citizen))
        assert me["data"]["me"]["fullName"] == "Lê Thị Hoa"
        assert await actions_of(graphql, citizen) == ["REGISTER"]
    else:
        assert answer["changed"] is True
        assert {"kind": "CCCD", "value": other_number, "verified": True} in answer["profile"][
            "identifiers"
        ]


async def test_a_corrected_national_id_takes_the_other_persons_records_away_and_brings_hers(
    graphql, given, office, partners
):
    # Someone else's dose, typed with the number the office mistyped, and hers.
    await given.vaccination(dose_number=1, national_id=MISTYPED_CCCD, date_of_birth=BORN)
    await given.vaccination(dose_number=2, national_id=CCCD, date_of_birth=BORN)
    # A dose typed with an unreadable mess that an operator linked to her by hand.
    await given.vaccination(dose_number=3, national_id="024148009999", date_of_birth=BORN)
    citizen = await register(graphql, office, nationalId=MISTYPED_CCCD, insuranceNumber=None)
    queued = await graphql.query(QUEUE, token=office.token)
    hand = next(
        e["node"]["id"]
        for e in queued["data"]["unmatchedRecords"]["edges"]
        if e["node"]["doseNumber"] == 3
    )
    resolved = await graphql.query(
        RESOLVE, {"input": {"recordId": hand, "citizenId": citizen}}, token=office.token
    )
    assert resolved["data"]["resolveUnmatched"]["userErrors"] == []
    assert await doses_of(graphql, citizen) == [1, 3]

    answer = await correct(graphql, citizen, office.token, nationalId=CCCD)

    assert answer["changed"] is True
    identifiers = answer["profile"]["identifiers"]
    assert identifiers == [{"kind": "CCCD", "value": CCCD, "verified": True}]
    assert await doses_of(graphql, citizen) == [2, 3]
    queued = await graphql.query(QUEUE, token=office.token)
    assert [e["node"]["doseNumber"] for e in queued["data"]["unmatchedRecords"]["edges"]] == [1]


async def test_a_corrected_birth_date_brings_the_records_it_blocked_and_lets_go_of_others(
    graphql, given, office
):
    # The office typed 1948-02-03: her dose (born 1948-03-02) conflicted and stayed out.
    await given.vaccination(dose_number=1, national_id=CCCD, date_of_birth=BORN)
    await given.vaccination(dose_number=2, national_id=CCCD, date_of_birth=date(1948, 2, 3))
    citizen = await register(graphql, office, dateOfBirth="1948-02-03")
    assert await doses_of(graphql, citizen) == [2]

    await correct(graphql, citizen, office.token, dateOfBirth=BORN.isoformat())

    assert await doses_of(graphql, citizen) == [1]


async def test_staff_scans_follow_a_corrected_insurance_number(graphql, given, office, partners):
    staff = await partners.create("checkins:staff")
    market = await given.venue(VenueKind.MARKET, operator_id=staff.partner_id)
    bus = await given.venue(VenueKind.WORKER_BUS, operator_id=staff.partner_id)
    mistyped = "HT3242400067809"
    for venue, number in ((market, mistyped), (bus, BHYT)):
        await graphql.query(
            """mutation($input: StaffCheckInInput!) { staffCheckIn(input: $input) {
                 checkIn { linked } } }""",
            {"input": {"venueCode": await given.venue_code(venue), "insuranceNumber": number}},
            token=staff.token,
        )
    citizen = await register(graphql, office, insuranceNumber=mistyped)

    await correct(graphql, citizen, office.token, insuranceNumber=BHYT)

    (at_market,) = await given.check_in_rows(venue_id=market)
    (on_bus,) = await given.check_in_rows(venue_id=bus)
    # The card scanned at the market carried the mistyped number: it was not hers.
    assert at_market.citizen_id is None
    assert on_bus.citizen_id == as_uuid(citizen)


async def test_only_the_office_of_the_citizens_province_corrects_their_details(
    graphql, partners, office
):
    citizen = await register(graphql, office)
    elsewhere = await partners.create("reconcile", name="Sở Y tế Hà Nội", province_code="01")

    other_office = await correct(graphql, citizen, elsewhere.token, fullName="Lê Thị Hòa")
    by_citizen = await correct(graphql, citizen, as_citizen=as_uuid(citizen), fullName="Lê Thị Hòa")
    own_office = await correct(graphql, citizen, office.token, fullName="Lê Thị Hòa")

    assert codes(other_office) == [("citizenId", "NOT_FOUND")]
    assert by_citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert own_office["changed"] is True
    assert await actions_of(graphql, citizen) == ["CORRECT", "REGISTER"]


@pytest.mark.parametrize(("detail", "revoked"), [("fullName", True), ("district", False)])
async def test_a_correction_of_what_the_pass_shows_revokes_the_live_pass(
    graphql, given, partners, office, detail, revoked
):
    # A citizen of the province who signed in and holds a pass.
    citizen = await vaccinated_citizen(given, full_name="Nguyễn Văn Bình")
    scanner = await partners.create("pass:verify")
    held = await health_pass(graphql, citizen)
    node = str(relay.GlobalID("Citizen", str(citizen)))

    answer = await correct(graphql, node, office.token, **{detail: "Nguyễn Văn Bính"})

    assert answer["changed"] is True
    checked = (await verify(graphql, scanner.token, held["credential"]))["data"]
    assert (checked["verifyHealthPass"]["result"] == "REVOKED") is revoked
