"""A province office registers a citizen who has no phone, from the card they show: once
only, in its own province, with every bad field named; the identifiers it types link the
citizen's records and staff scans, and a phone can be given to them later by the office."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from strawberry import relay

from auth.qr import CodeKind
from models.citizen import Citizen
from models.identifiers import IdentifierKind, fold_name
from models.link import RecordStore
from models.matching import RecordIdentity
from models.stores import Store
from models.venue import VenueKind
from models.verification import CarriedIdentity, confirmation
from tests.conftest import REQUEST_PHONE_CODE

REGISTER = """
mutation($input: RegisterCitizenInput!) {
  registerCitizen(input: $input) {
    citizenId created
    profile { fullName dateOfBirth dateOfBirthVerified provinceCode district
              identifiers { kind value verified } }
    userErrors { field code message }
  }
}
"""
ACCESS_LOG = "{ me { accessLog { edges { node { action actorName sections } } } } }"
CCCD = "024190000123"
BHYT = "HS4240123456789"


def person(**changes):
    return {
        "fullName": "Lê Thị Hoa",
        "dateOfBirth": "1948-03-02",
        "district": "Lục Ngạn",
        "nationalId": CCCD,
        "insuranceNumber": BHYT,
        **changes,
    }


async def office(partners, province="24", name="Sở Y tế Bắc Giang"):
    return await partners.create("reconcile", name=name, province_code=province)


async def register(graphql, token, **changes):
    answer = await graphql.query(REGISTER, {"input": person(**changes)}, token=token)
    return answer["data"]["registerCitizen"] if answer.get("data") else answer


def uuid_of(citizen_id):
    return relay.GlobalID.from_id(citizen_id).node_id


def _uuid(result):
    return uuid.UUID(uuid_of(result["citizenId"]))


async def citizens_in(engines):
    async with engines[Store.CORE].connect() as core:
        return (await core.execute(sa.select(sa.func.count()).select_from(Citizen))).scalar()


async def test_a_province_office_registers_a_citizen_who_has_no_phone(graphql, partners, engines):
    operator = await office(partners)

    result = await register(graphql, operator.token, nationalId="0241 9000 0123")

    assert result["userErrors"] == []
    assert result["created"] is True
    assert result["profile"] == {
        "fullName": "Lê Thị Hoa",
        "dateOfBirth": "1948-03-02",
        "dateOfBirthVerified": True,
        "provinceCode": "24",
        "district": "Lục Ngạn",
        "identifiers": [
            {"kind": "BHYT", "value": BHYT, "verified": True},
            {"kind": "CCCD", "value": CCCD, "verified": True},
        ],
    }
    mine = await graphql.query(
        "{ me { fullName phoneMasked provinceCode } }", as_citizen=_uuid(result)
    )
    assert mine["data"]["me"] == {
        "fullName": "Lê Thị Hoa",
        "phoneMasked": None,
        "provinceCode": "24",
    }
    assert await citizens_in(engines) == 1


async def test_the_citizen_sees_in_their_access_log_which_office_registered_them(graphql, partners):
    operator = await office(partners)
    result = await register(graphql, operator.token)

    log = await graphql.query(ACCESS_LOG, as_citizen=_uuid(result))

    (entry,) = [e["node"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert entry == {
        "action": "REGISTER",
        "actorName": "Sở Y tế Bắc Giang",
        "sections": ["identity", "profile"],
    }


async def test_registering_the_same_person_again_gives_the_same_citizen_and_changes_nothing(
    graphql, partners, engines
):
    operator = await office(partners)
    first = await register(graphql, operator.token)

    again = await register(graphql, operator.token)
    by_one_card = await register(graphql, operator.token, insuranceNumber=None)

    for replay in (again, by_one_card):
        assert replay["userErrors"] == []
        assert (replay["citizenId"], replay["created"]) == (first["citizenId"], False)
    assert await citizens_in(engines) == 1
    log = await graphql.query(ACCESS_LOG, as_citizen=_uuid(first))
    assert [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]] == ["REGISTER"]


async def test_two_registrations_of_one_person_at_the_same_moment_make_one_citizen(
    graphql, partners, engines
):
    operator = await office(partners)

    answers = await asyncio.gather(*(register(graphql, operator.token) for _ in range(4)))

    assert all(answer["userErrors"] == [] for answer in answers)
    assert len({answer["citizenId"] for answer in answers}) == 1
    assert sorted(answer["created"] for answer in answers) == [False, False, False, True]
    assert await citizens_in(engines) == 1


async def test_a_citizen_who_signed_in_and_holds_the_id_verified_is_never_registered_twice(
    graphql, given, partners, engines
):
    signed_in = await given.citizen(
        full_name="Lê Thị Hoa", date_of_birth=date(1948, 3, 2), national_id=CCCD
    )
    operator = await office(partners)

    result = await register(graphql, operator.token, insuranceNumber=None)

    assert result["userErrors"] == []
    assert (_uuid(result), result["created"]) == (signed_in, False)
    assert await citizens_in(engines) == 1


async def test_an_identifier_registered_with_other_details_is_refused_naming_the_citizen(
    graphql, partners, engines
):
    operator = await office(partners)
    first = await register(graphql, operator.token)

    other_birth = await register(graphql, operator.token, dateOfBirth="1950-03-02")

    assert other_birth["created"] is False and other_birth["profile"] is None
    codes = {(e["field"], e["code"]) for e in other_birth["userErrors"]}
    assert codes == {
        ("nationalId", "ALREADY_REGISTERED"),
        ("insuranceNumber", "ALREADY_REGISTERED"),
    }
    assert other_birth["citizenId"] == first["citizenId"]
    assert await citizens_in(engines) == 1


async def test_an_office_of_another_province_learns_only_that_the_identifier_is_taken(
    graphql, partners, engines
):
    await register(graphql, (await office(partners)).token)
    elsewhere = await office(partners, province="01", name="Sở Y tế Hà Nội")

    result = await register(graphql, elsewhere.token, provinceCode="01", nationalId=None)

    (error,) = result["userErrors"]
    assert (error["field"], error["code"]) == ("insuranceNumber", "ALREADY_REGISTERED")
    assert result["citizenId"] is None
    assert await citizens_in(engines) == 1


async def test_identifiers_of_two_different_citizens_are_refused(graphql, given, partners, engines):
    await given.citizen(national_id=CCCD)
    await given.citizen(insurance_number=BHYT)
    operator = await office(partners)

    result = await register(graphql, operator.token)

    assert {e["code"] for e in result["userErrors"]} == {"IDENTIFIER_TAKEN"}
    assert result["citizenId"] is None
    assert await citizens_in(engines) == 2


async def test_every_bad_field_is_named_and_nothing_is_written(graphql, partners, engines):
    operator = await office(partners)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()

    result = await register(
        graphql,
        operator.token,
        fullName="  ",
        dateOfBirth=tomorrow,
        district="x" * 101,
        nationalId="12345",
        insuranceNumber="HS42",
    )

    assert {(e["field"], e["code"]) for e in result["userErrors"]} == {
        ("fullName", "INVALID_VALUE"),
        ("dateOfBirth", "INVALID_VALUE"),
        ("district", "INVALID_VALUE"),
        ("nationalId", "INVALID_IDENTIFIER"),
        ("insuranceNumber", "INVALID_IDENTIFIER"),
    }
    assert result["citizenId"] is None
    assert await citizens_in(engines) == 0


async def test_a_citizen_needs_a_national_id_or_an_insurance_number(graphql, partners, engines):
    operator = await office(partners)

    result = await register(graphql, operator.token, nationalId=None, insuranceNumber="")

    (error,) = result["userErrors"]
    assert (error["field"], error["code"]) == ("nationalId", "REQUIRED")
    assert await citizens_in(engines) == 0


@pytest.mark.parametrize(
    ("province", "code"), [("01", "PROVINCE_NOT_SERVED"), ("99", "UNKNOWN_PROVINCE")]
)
async def test_an_office_registers_citizens_of_its_own_province_only(
    graphql, partners, engines, province, code
):
    operator = await office(partners)

    refused = await register(graphql, operator.token, provinceCode=province)
    own = await register(graphql, operator.token, provinceCode="24")

    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [("provinceCode", code)]
    assert own["userErrors"] == [] and own["created"] is True
    assert await citizens_in(engines) == 1


@pytest.mark.parametrize("caller", ["citizen", "venue operator", "office without province"])
async def test_only_a_province_office_registers_citizens(graphql, given, partners, engines, caller):
    if caller == "citizen":
        token = graphql.issuer.issue(await given.citizen())
    elif caller == "venue operator":
        token = (await partners.create("checkins:staff", province_code="24")).token
    else:
        token = (await partners.create("reconcile")).token
    before = await citizens_in(engines)

    answer = await graphql.query(REGISTER, {"input": person()}, token=token)

    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await citizens_in(engines) == before


async def test_records_carrying_the_registered_identifiers_link_to_the_citizen(
    graphql, given, partners
):
    before = await given.vaccination(national_id=CCCD, full_name="Le Thi Hoa")
    operator = await office(partners)
    citizen = _uuid(await register(graphql, operator.token))
    after = await given.vaccination(
        insurance_number=BHYT, dose_number=2, date_of_birth=date(1948, 3, 2)
    )

    mine = await graphql.query(
        "{ me { vaccinations { id provenance { matchedBy } } } }", as_citizen=citizen
    )

    doses = mine["data"]["me"]["vaccinations"]
    assert {d["id"] for d in doses} == {
        relay.to_base64("Vaccination", before),
        relay.to_base64("Vaccination", after),
    }
    methods = {p["matchedBy"] for d in doses for p in d["provenance"]}
    assert methods == {"NATIONAL_ID", "INSURANCE_NUMBER"}


async def test_a_record_of_another_birth_date_does_not_link_to_the_registered_citizen(
    graphql, given, partners
):
    await given.vaccination(national_id=CCCD, date_of_birth=date(1950, 1, 1))
    operator = await office(partners)
    citizen = _uuid(await register(graphql, operator.token))

    mine = await graphql.query("{ me { vaccinations { id } } }", as_citizen=citizen)

    assert mine["data"]["me"]["vaccinations"] == []


async def test_staff_scans_of_the_insurance_number_made_before_registration_join_the_citizen(
    graphql, given, partners
):
    staff = await partners.create("checkins:staff")
    venue = await given.venue(VenueKind.MARKET, operator_id=staff.partner_id)
    scan = await graphql.query(
        """mutation($input: StaffCheckInInput!) { staffCheckIn(input: $input) {
             checkIn { linked } userErrors { code } } }""",
        {"input": {"venueCode": await given.venue_code(venue), "insuranceNumber": BHYT}},
        token=staff.token,
    )
    assert scan["data"]["staffCheckIn"]["checkIn"]["linked"] is False

    citizen = _uuid(await register(graphql, (await office(partners)).token))

    (row,) = await given.check_in_rows(venue_id=venue)
    assert row.citizen_id == citizen


async def test_signing_in_later_with_a_phone_does_not_reach_the_registered_citizen(
    graphql, given, partners, sign_in
):
    operator = await office(partners)
    registered = _uuid(await register(graphql, operator.token))
    await given.vaccination(national_id=CCCD, date_of_birth=date(1948, 3, 2))

    session = await sign_in("0912000777")
    token = session["accessToken"]
    claimed = await graphql.query(
        """mutation { updateProfile(input: {fullName: "Lê Thị Hoa", dateOfBirth: "1948-03-02",
             nationalId: "024190000123"}) { profile { identifiers { kind verified } } } }""",
        token=token,
    )
    theirs = await graphql.query("{ me { id vaccinations { id } } }", token=token)

    assert uuid_of(session["citizenId"]) != str(registered)
    # The ID is verified for the registered citizen: for this account it stays a claim.
    identifiers = claimed["data"]["updateProfile"]["profile"]["identifiers"]
    assert {"kind": "CCCD", "verified": False} in identifiers
    assert theirs["data"]["me"]["vaccinations"] == []


async def test_the_office_gives_a_registered_citizen_the_phone_they_sign_in_with(
    graphql, partners, sign_in, office_adds_phone
):
    operator = await office(partners)
    registered = await register(graphql, operator.token)

    added = await office_adds_phone(operator.token, registered["citizenId"], "+84 912 000 888")
    again = await graphql.query(
        REQUEST_PHONE_CODE,
        {"id": registered["citizenId"], "phone": "0912000888"},
        token=operator.token,
    )
    session = await sign_in("0912000888")

    assert added == {"added": True, "accountJoined": False, "userErrors": []}
    # Asking again for the phone the citizen has sends nothing.
    assert again["data"]["requestCitizenPhoneCode"] == {
        "challenge": None,
        "alreadyAdded": True,
        "userErrors": [],
    }
    assert session["citizenId"] == registered["citizenId"]
    assert session["newCitizen"] is False
    log = await graphql.query(ACCESS_LOG, token=session["accessToken"])
    actions = [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert actions == ["ADD_PHONE", "REGISTER"]


async def test_a_phone_of_an_account_holding_a_verified_birth_date_or_identifier_is_not_given(
    graphql, given, partners, sms_inbox
):
    # A birth date is verified only by a record or an office: this account is someone's.
    await given.citizen(phone="0912000999", date_of_birth=date(1990, 5, 14))
    operator = await office(partners)
    registered = await register(graphql, operator.token)

    taken = await graphql.query(
        REQUEST_PHONE_CODE,
        {"id": registered["citizenId"], "phone": "0912000999"},
        token=operator.token,
    )
    bad = await graphql.query(
        REQUEST_PHONE_CODE, {"id": registered["citizenId"], "phone": "12345"}, token=operator.token
    )

    assert taken["data"]["requestCitizenPhoneCode"]["userErrors"] == [
        {"field": "phone", "code": "PHONE_IN_USE"}
    ]
    assert bad["data"]["requestCitizenPhoneCode"]["userErrors"] == [
        {"field": "phone", "code": "INVALID_PHONE"}
    ]
    # No code went to a phone that cannot be given.
    with pytest.raises(AssertionError, match="no code was sent"):
        sms_inbox.last_code_for("0912000999")
    mine = await graphql.query("{ me { phoneMasked } }", as_citizen=_uuid(registered))
    assert mine["data"]["me"]["phoneMasked"] is None


async def test_a_phone_is_given_only_by_the_office_of_the_citizens_province(
    graphql, given, partners, office_adds_phone
):
    operator = await office(partners)
    registered = await register(graphql, operator.token)
    elsewhere = await office(partners, province="01", name="Sở Y tế Hà Nội")
    variables = {"id": registered["citizenId"], "phone": "0912000111"}

    other_office = await graphql.query(REQUEST_PHONE_CODE, variables, token=elsewhere.token)
    citizen = await graphql.query(REQUEST_PHONE_CODE, variables, as_citizen=_uuid(registered))
    own_office = await office_adds_phone(operator.token, registered["citizenId"], "0912000111")

    assert other_office["data"]["requestCitizenPhoneCode"]["userErrors"] == [
        {"field": "citizenId", "code": "NOT_FOUND"}
    ]
    assert citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert own_office["added"] is True


async def test_an_account_the_person_made_by_signing_in_first_joins_the_registered_citizen(
    graphql, given, partners, sign_in, qr, office_adds_phone
):
    operator = await office(partners)
    registered = await register(graphql, operator.token)
    before = await sign_in("0912000555")
    venue = await given.venue()
    payload = qr.sign(CodeKind.VENUE, await given.venue_code(venue))
    await graphql.query(
        "mutation($p: String!) { checkIn(input: {payload: $p}) { checkIn { id } } }",
        {"p": payload},
        token=before["accessToken"],
    )

    joined = await office_adds_phone(operator.token, registered["citizenId"], "0912000555")
    old_session = await graphql.query(
        """mutation($token: String!) { refreshSession(refreshToken: $token) {
             session { citizenId } userErrors { code } } }""",
        {"token": before["refreshToken"]},
    )
    after = await sign_in("0912000555")
    theirs = await graphql.query(
        "{ me { id checkIns { edges { node { venue { code } } } } } }",
        token=after["accessToken"],
    )

    assert joined == {"added": True, "accountJoined": True, "userErrors": []}
    # The account made by signing in first no longer signs in.
    assert old_session["data"]["refreshSession"]["session"] is None
    assert after["citizenId"] == registered["citizenId"]
    assert theirs["data"]["me"]["checkIns"]["edges"] == [
        {"node": {"venue": {"code": await given.venue_code(venue)}}}
    ]


def _claimant(phone):
    from models.profile import HeldIdentifier, Profile

    return Profile(
        citizen_id=uuid.uuid4(),
        full_name="Lê Thị Hoa",
        phone=phone,
        province_code="24",
        district=None,
        date_of_birth=None,
        claimed_date_of_birth=date(1948, 3, 2),
        identifiers=[HeldIdentifier(IdentifierKind.CCCD, CCCD, False, None, None)],
    )


@pytest.mark.parametrize(("phone", "confirms"), [(None, False), ("0912000123", True)])
def test_a_record_confirms_claims_only_through_the_phone_the_citizen_signed_in_with(
    phone, confirms
):
    """A record without a phone must never confirm the claims of a citizen without one:
    "no phone" on both sides is not the same phone."""
    record = CarriedIdentity(
        store=RecordStore.IMMUNIZATION,
        record_id=uuid.uuid4(),
        province_code="24",
        full_name="Lê Thị Hoa",
        identity=RecordIdentity(
            (IdentifierKind.CCCD, CCCD), None, phone, date(1948, 3, 2), fold_name("Lê Thị Hoa")
        ),
        occurred_at=datetime(2021, 8, 1, tzinfo=UTC),
    )

    assert (confirmation(_claimant(phone), [record]) is not None) is confirms
