"""Once a citizen's identifier is verified, the records that carry it link by themselves,
however the site typed it."""

import csv
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from strawberry import relay
from strawberry.utils.str_converters import to_snake_case

from models.identifiers import IdentifierKind
from models.link import RecordStore
from models.record_import import IMMUNIZATION, import_file
from models.records import Outcome
from models.stores import Engines, Store
from models.verification import RECORD_TABLES, carrying_query
from tests.conftest import Given, GraphQLClient

UPDATE = """mutation($input: ProfileInput!) { updateProfile(input: $input) {
  userErrors { field code } } }"""
VERIFY = """mutation($input: VerifyIdentityInput!) { verifyIdentity(input: $input) {
  verified dateOfBirthVerified userErrors { field code } } }"""
DOSES = "{ me { id vaccinations { doseNumber } } }"
BIRTH = date(1990, 5, 14)
NAME = "Nguyễn Văn An"


async def doses(graphql: GraphQLClient, token: str) -> list[int]:
    body = await graphql.query(DOSES, token=token)
    return sorted(d["doseNumber"] for d in body["data"]["me"]["vaccinations"])


async def doses_of(graphql: GraphQLClient, citizen: uuid.UUID) -> list[int]:
    body = await graphql.query(DOSES, as_citizen=citizen)
    return sorted(d["doseNumber"] for d in body["data"]["me"]["vaccinations"])


async def verify(graphql: GraphQLClient, partners: Any, token: str, **claims: Any) -> None:
    me = (await graphql.query(DOSES, token=token))["data"]["me"]["id"]
    verifier = await partners.create("identity:verify")
    body = await graphql.query(VERIFY, {"input": {"citizenId": me, **claims}}, token=verifier.token)
    assert body["data"]["verifyIdentity"]["userErrors"] == [], body


@pytest.mark.parametrize(
    ("claim", "typed"),
    [
        ({"nationalId": "024090001234"}, {"national_id": "024 090 001 234"}),
        ({"nationalId": "024090123"}, {"national_id": "024.090.123"}),
        ({"insuranceNumber": "DN4240123456789"}, {"insurance_number": "dn 4 24 0123456789"}),
    ],
    ids=["CCCD", "CMND", "BHYT"],
)
async def test_records_carrying_a_newly_verified_identifier_link_themselves(
    graphql: GraphQLClient,
    given: Given,
    partners: Any,
    sign_in: Any,
    claim: dict[str, str],
    typed: dict[str, str],
) -> None:
    await given.vaccination(dose_number=2, full_name="NGUYEN VAN AN", **typed)
    await given.vaccination(dose_number=3, national_id="024090009999")  # someone else's
    session = await sign_in("0912345678")
    token = session["accessToken"]
    await graphql.query(UPDATE, {"input": {"fullName": NAME, **claim}}, token=token)
    assert await doses(graphql, token) == []  # a claim alone links nothing

    await verify(graphql, partners, token, **claim)

    assert await doses(graphql, token) == [2]


@pytest.mark.parametrize(
    ("phone", "typed"),
    [("0912345678", "+84 912.345.678"), ("0323456789", "0162 345 6789")],
    ids=["formatted", "pre-2018 number"],
)
async def test_records_with_the_phone_link_once_the_birth_date_is_verified(
    graphql: GraphQLClient, given: Given, partners: Any, sign_in: Any, phone: str, typed: str
) -> None:
    await given.vaccination(dose_number=1, phone=typed, date_of_birth=BIRTH, full_name=NAME)
    await given.vaccination(dose_number=2, phone=typed, date_of_birth=date(2015, 1, 1))
    session = await sign_in(phone)
    token = session["accessToken"]
    await graphql.query(
        UPDATE, {"input": {"fullName": NAME, "dateOfBirth": BIRTH.isoformat()}}, token=token
    )
    assert await doses(graphql, token) == []

    await verify(graphql, partners, token, dateOfBirth=BIRTH.isoformat())

    # The child's dose typed with the parent's phone stays unmatched.
    assert await doses(graphql, token) == [1]


async def test_a_verified_identifier_does_not_link_another_persons_record(
    graphql: GraphQLClient, given: Given, partners: Any, sign_in: Any
) -> None:
    # The same ID typed on a record with another birth date: a mistyped ID of someone else.
    await given.vaccination(national_id="024 090 001 234", date_of_birth=date(1975, 3, 3))
    session = await sign_in("0912345678")
    token = session["accessToken"]
    await graphql.query(
        UPDATE,
        {
            "input": {
                "fullName": NAME,
                "dateOfBirth": BIRTH.isoformat(),
                "nationalId": "024090001234",
            }
        },
        token=token,
    )

    await verify(graphql, partners, token, nationalId="024090001234", dateOfBirth=BIRTH.isoformat())

    assert await doses(graphql, token) == []


RECORD_VACCINATION = """mutation($input: RecordVaccinationInput!) {
  recordVaccination(input: $input) { status userErrors { field code } } }"""
CCCD = "024090001234"


async def arrives(how: str, graphql: GraphQLClient, partners: Any, tmp_path: Path, **typed: str):
    """A dose as a site sends it, through a partner's mutation or a platform export."""
    dose = {
        "sourceRecordId": "TC-24-000002",
        "updatedAt": "2021-09-01T10:00:00+07:00",
        "fullName": NAME,
        "dateOfBirth": BIRTH.isoformat(),
        "vaccineCode": "AZD1222",
        "doseNumber": 2,
        "administeredAt": "2021-09-01T09:30:00+07:00",
        "siteName": "Trạm Y tế xã Tân Mỹ",
        "provinceCode": "24",
        **typed,
    }
    if how == "mutation":
        site = await partners.create("immunization:write")
        body = await graphql.query(RECORD_VACCINATION, {"input": dose}, token=site.token)
        assert body["data"]["recordVaccination"]["status"] == "INSERTED", body
        return
    path = tmp_path / "export.csv"
    columns = {to_snake_case(name): value for name, value in dose.items()}
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=sorted(columns))
        writer.writeheader()
        writer.writerow(columns)
    summary = await import_file(partners.engines, IMMUNIZATION, path)
    assert summary.written.counts[Outcome.INSERTED] == 1


async def claim(graphql: GraphQLClient, sign_in: Any, **changes: str) -> str:
    token = (await sign_in("0912345678"))["accessToken"]
    claims = {"fullName": NAME, "dateOfBirth": BIRTH.isoformat(), "nationalId": CCCD, **changes}
    body = await graphql.query(UPDATE, {"input": claims}, token=token)
    assert body["data"]["updateProfile"]["userErrors"] == [], body
    return str(token)


@pytest.mark.parametrize("how", ["mutation", "import"])
async def test_a_record_arriving_that_confirms_the_claims_links_the_citizens_other_records(
    graphql: GraphQLClient, given: Given, partners: Any, sign_in: Any, tmp_path: Path, how: str
) -> None:
    await given.vaccination(dose_number=1, national_id="024 090 001 234", date_of_birth=BIRTH)
    await given.vaccination(dose_number=3, national_id="024090009999")  # someone else's
    token = await claim(graphql, sign_in)
    assert await doses(graphql, token) == []  # the claims alone link nothing

    await arrives(how, graphql, partners, tmp_path, phone="+84 912 345 678", nationalId=CCCD)

    assert await doses(graphql, token) == [1, 2]


@pytest.mark.parametrize("how", ["mutation", "import"])
async def test_a_record_arriving_under_another_phone_confirms_and_links_nothing(
    graphql: GraphQLClient, given: Given, partners: Any, sign_in: Any, tmp_path: Path, how: str
) -> None:
    await given.vaccination(dose_number=1, national_id="024 090 001 234", date_of_birth=BIRTH)
    token = await claim(graphql, sign_in)

    # A relative's phone typed with the citizen's ID: the site did not see the citizen's phone.
    await arrives(how, graphql, partners, tmp_path, phone="0987654321", nationalId=CCCD)

    assert await doses(graphql, token) == []
    body = await graphql.query("{ me { profile { identifiers { verified } } } }", token=token)
    assert [i["verified"] for i in body["data"]["me"]["profile"]["identifiers"]] == [False, True]


async def test_a_new_name_links_the_records_typed_with_it_under_the_phone_and_birth_date(
    graphql: GraphQLClient, given: Given, partners: Any, sign_in: Any
) -> None:
    await given.vaccination(
        dose_number=1, phone="0912 345 678", date_of_birth=BIRTH, full_name=NAME
    )
    # The same phone with another birth date: a relative's dose, whatever the name.
    await given.vaccination(
        dose_number=2, phone="0912 345 678", date_of_birth=date(2015, 1, 1), full_name=NAME
    )
    token = await claim(graphql, sign_in, fullName="Nguyễn An", nationalId=None)
    await verify(graphql, partners, token, dateOfBirth=BIRTH.isoformat())
    assert await doses(graphql, token) == []  # the name typed at the site is not theirs

    await graphql.query(UPDATE, {"input": {"fullName": "NGUYEN VAN AN"}}, token=token)

    assert await doses(graphql, token) == [1]


async def test_a_new_name_links_nothing_while_the_birth_date_is_only_claimed(
    graphql: GraphQLClient, given: Given, sign_in: Any
) -> None:
    await given.vaccination(
        dose_number=1, phone="0912 345 678", date_of_birth=BIRTH, full_name=NAME
    )
    token = await claim(graphql, sign_in, fullName="Nguyễn An", nationalId=None)

    await graphql.query(UPDATE, {"input": {"fullName": NAME}}, token=token)

    assert await doses(graphql, token) == []


REGISTER = """mutation($input: RegisterCitizenInput!) {
  registerCitizen(input: $input) { citizenId userErrors { field code } } }"""


async def test_a_phone_the_office_gives_links_the_records_typed_with_it_and_the_birth_date(
    graphql: GraphQLClient, given: Given, partners: Any, office_adds_phone: Any
) -> None:
    office = await partners.create("reconcile", name="Sở Y tế Bắc Giang", province_code="24")
    born = date(1948, 3, 2)
    person = {"fullName": "Lê Thị Hoa", "dateOfBirth": born.isoformat(), "nationalId": CCCD}
    body = await graphql.query(REGISTER, {"input": person}, token=office.token)
    citizen = body["data"]["registerCitizen"]["citizenId"]
    await given.vaccination(
        dose_number=1, phone="0912 000 888", date_of_birth=born, full_name="Lê Thị Hoa"
    )
    # The same phone typed for someone born another day: never hers.
    await given.vaccination(
        dose_number=2, phone="0912 000 888", date_of_birth=date(1975, 1, 1), full_name="Lê Thị Hoa"
    )
    as_her = uuid.UUID(relay.GlobalID.from_id(citizen).node_id)
    assert await doses_of(graphql, as_her) == []

    answer = await office_adds_phone(office.token, citizen, "0912000888")

    assert (answer["added"], answer["userErrors"]) == (True, [])
    assert await doses_of(graphql, as_her) == [1]


@pytest.mark.parametrize("store", list(RecordStore))
async def test_records_are_searched_by_their_typed_identifiers_through_indexes(
    engines: Engines, store: RecordStore
) -> None:
    query = carrying_query(
        store,
        [(IdentifierKind.CCCD, "024090001234"), (IdentifierKind.BHYT, "DN4240123456789")],
        phone="0912345678",
        date_of_birth=BIRTH,
    )
    assert query is not None
    statement = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engines[Store(store.value)].connect() as connection:
        # An index the search cannot use would leave a (disabled, still chosen) sequential scan.
        await connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await connection.exec_driver_sql(f"EXPLAIN {statement}")).scalars())

    table = RECORD_TABLES[store].name
    assert "Seq Scan" not in plan, plan
    for index in ("typed_national_id", "typed_insurance_number", "typed_phone_dob"):
        assert f"ix_{table}_{index}" in plan, plan
