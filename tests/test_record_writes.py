"""Sites and labs write records: validated whole, idempotent, newest version wins, one row."""

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from models.link import RecordLink
from models.record_validation import VaccinationInput, load_catalog, validate_vaccination
from models.records import VACCINATIONS, Outcome, Writer, write_records
from models.stores import Store

CCCD = "024090004512"
BIRTH = "1990-05-14"

RECORD_VACCINATION = """mutation($input: RecordVaccinationInput!) {
  recordVaccination(input: $input) { status vaccination { id doseNumber vaccine { code } siteName }
  userErrors { field message code } } }"""
RECORD_TEST = """mutation($input: RecordTestResultInput!) { recordTestResult(input: $input) {
  status testResult { id result labName pooled }
  userErrors { field message code } } }"""
VOID = """mutation($kind: RecordKind!, $id: String!) {
  voidRecord(kind: $kind, sourceRecordId: $id) { status userErrors { field code } } }"""
MY_RECORDS = """{ me { vaccinations { doseNumber siteName vaccine { code } }
  vaccinationStatus { dosesReceived }
  testResults { edges { node { result resultedAt collectedAt } } } } }"""
LOG = """{ me { accessLog(first: 20) { edges { node { actorName action sections } } } } }"""


def dose(**changes: Any) -> dict[str, Any]:
    fields = {
        "sourceRecordId": "TC-24-000001",
        "updatedAt": "2021-08-01T10:00:00+07:00",
        "fullName": "Nguyễn Văn An",
        "dateOfBirth": BIRTH,
        "nationalId": CCCD,
        "vaccineCode": "AZD1222",
        "doseNumber": 1,
        "administeredAt": "2021-08-01T09:30:00+07:00",
        "lotNumber": "NX1234",
        "siteName": "Trạm Y tế xã Tân Mỹ",
        "provinceCode": "24",
    }
    return fields | changes


def sample(**changes: Any) -> dict[str, Any]:
    fields = {
        "sourceRecordId": "XN-24-000001",
        "updatedAt": "2021-09-01T08:00:00+07:00",
        "fullName": "Nguyễn Văn An",
        "dateOfBirth": BIRTH,
        "nationalId": CCCD,
        "sampleCode": "S000001",
        "testType": "RT_PCR",
        "collectedAt": "2021-09-01T07:45:00+07:00",
        "collectionSite": "Điểm lấy mẫu phường Trần Phú",
        "provinceCode": "24",
    }
    return fields | changes


@pytest.fixture
async def site(partners: Any) -> Any:
    return await partners.create("immunization:write", name="Trạm Y tế Tân Mỹ")


@pytest.fixture
async def lab(partners: Any, engines: Any) -> Any:
    async with engines[Store.TESTING].begin() as testing:
        await testing.execute(
            sa.text(
                "INSERT INTO testing.labs (code, name, province_code) "
                "VALUES ('CDC-BG', 'CDC Bắc Giang', '24') ON CONFLICT DO NOTHING"
            )
        )
    return await partners.create("testing:write", name="CDC Bắc Giang")


async def record(graphql: Any, token: str, **changes: Any) -> dict[str, Any]:
    body = await graphql.query(RECORD_VACCINATION, {"input": dose(**changes)}, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["recordVaccination"])


async def record_test(graphql: Any, token: str, **changes: Any) -> dict[str, Any]:
    body = await graphql.query(RECORD_TEST, {"input": sample(**changes)}, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["recordTestResult"])


async def count_rows(engines: Any, table: str) -> int:
    store = Store.IMMUNIZATION if table == "vaccination_records" else Store.TESTING
    async with engines[store].connect() as connection:
        return int(await connection.scalar(sa.text(f"SELECT count(*) FROM {store.value}.{table}")))


async def mine(graphql: Any, citizen: uuid.UUID) -> dict[str, Any]:
    return dict((await graphql.query(MY_RECORDS, as_citizen=citizen))["data"]["me"])


async def test_a_recorded_dose_reaches_its_citizen(graphql, given, site):
    citizen = await given.citizen(national_id=CCCD)

    payload = await record(graphql, site.token)

    assert payload["status"] == "INSERTED" and payload["userErrors"] == []
    assert payload["vaccination"]["vaccine"]["code"] == "AZD1222"
    assert (await mine(graphql, citizen))["vaccinations"] == [
        {"doseNumber": 1, "siteName": "Trạm Y tế xã Tân Mỹ", "vaccine": {"code": "AZD1222"}}
    ]


async def test_the_same_dose_again_changes_nothing(graphql, given, engines, site):
    await given.citizen(national_id=CCCD)
    first = await record(graphql, site.token)

    again = await record(graphql, site.token)

    assert again["status"] == "UNCHANGED"
    assert again["vaccination"]["id"] == first["vaccination"]["id"]
    assert await count_rows(engines, "vaccination_records") == 1


async def test_a_newer_version_replaces_the_record_and_matches_it_again(graphql, given, site):
    citizen = await given.citizen(national_id=CCCD)
    typo = await record(graphql, site.token, nationalId="024090005412")
    assert (await mine(graphql, citizen))["vaccinations"] == []

    corrected = await record(graphql, site.token, updatedAt="2021-08-02T10:00:00+07:00")

    assert (typo["status"], corrected["status"]) == ("INSERTED", "UPDATED")
    assert len((await mine(graphql, citizen))["vaccinations"]) == 1


async def test_an_older_version_is_stale_and_changes_nothing(graphql, given, site):
    citizen = await given.citizen(national_id=CCCD)
    await record(graphql, site.token, updatedAt="2021-08-02T10:00:00+07:00", siteName="Newer")

    older = await record(graphql, site.token, siteName="Older")

    assert older["status"] == "STALE"
    assert (await mine(graphql, citizen))["vaccinations"][0]["siteName"] == "Newer"


async def test_a_newer_version_with_the_same_content_is_unchanged(graphql, given, site):
    await given.citizen(national_id=CCCD)
    await record(graphql, site.token)

    again = await record(graphql, site.token, updatedAt="2021-08-05T10:00:00+07:00")
    older = await record(graphql, site.token, updatedAt="2021-08-03T10:00:00+07:00")

    assert (again["status"], older["status"]) == ("UNCHANGED", "STALE")


async def _valid_dose(engines: Any, record_id: str) -> Any:
    async with engines[Store.IMMUNIZATION].connect() as immunization:
        catalog = await load_catalog(immunization=immunization)
    checked = validate_vaccination(
        VaccinationInput(
            source_record_id=record_id,
            updated_at=datetime(2021, 8, 1, 3, tzinfo=UTC),
            full_name="Nguyễn Văn An",
            vaccine_code="AZD1222",
            dose_number=1,
            administered_at=datetime(2021, 8, 1, 2, tzinfo=UTC),
            site_name="Trạm Y tế xã Tân Mỹ",
            province_code="24",
            national_id=CCCD,
            date_of_birth=date(1990, 5, 14),
        ),
        catalog,
    )
    assert not isinstance(checked, list)
    return checked


async def test_concurrent_writes_of_one_record_leave_exactly_one_row(engines, given):
    citizen = await given.citizen(national_id=CCCD)
    valid = await _valid_dose(engines, "TC-concurrent")
    writer = Writer("site-a")

    results = await asyncio.gather(
        *(write_records(engines, VACCINATIONS, writer, [valid]) for _ in range(6))
    )

    outcomes = sorted(result[0].outcome for result in results)
    assert outcomes == [Outcome.INSERTED] + [Outcome.UNCHANGED] * 5
    assert len({result[0].record_id for result in results}) == 1
    assert await count_rows(engines, "vaccination_records") == 1
    async with engines[Store.CORE].connect() as core:
        owners = (await core.execute(sa.text("SELECT citizen_id FROM core.record_links"))).all()
    assert owners == [(citizen,)]


async def test_a_record_stored_but_never_matched_is_matched_when_it_arrives_again(engines, given):
    citizen = await given.citizen(national_id=CCCD)
    valid = await _valid_dose(engines, "TC-interrupted")
    writer = Writer("site-a")
    [first] = await write_records(engines, VACCINATIONS, writer, [valid])
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.delete(RecordLink.__table__))

    [again] = await write_records(engines, VACCINATIONS, writer, [valid])

    assert again.outcome is Outcome.UNCHANGED and again.record_id == first.record_id
    assert again.match is not None and again.match.citizen_id == citizen


async def test_the_same_record_twice_in_one_batch_is_stored_once(engines, given):
    await given.citizen(national_id=CCCD)
    valid = await _valid_dose(engines, "TC-twice")

    results = await write_records(engines, VACCINATIONS, Writer("site-a"), [valid, valid])

    assert [r.outcome for r in results] == [Outcome.INSERTED, Outcome.UNCHANGED]
    assert await count_rows(engines, "vaccination_records") == 1


async def test_an_operators_decision_survives_a_newer_version(graphql, given, engines, site):
    citizen = await given.citizen(national_id=CCCD)
    other = await given.citizen(national_id="024090009999")
    first = await record(graphql, site.token, nationalId="024090005412")
    record_id = uuid.UUID(_node_uuid(first["vaccination"]["id"]))
    links = RecordLink.__table__
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.update(links)
            .where(links.c.record_id == record_id)
            .values(status="LINKED", citizen_id=citizen, method="OPERATOR", decided_by="op:24")
        )

    newer = await record(
        graphql, site.token, updatedAt="2021-08-03T10:00:00+07:00", nationalId="024090009999"
    )

    assert newer["status"] == "UPDATED"
    assert len((await mine(graphql, citizen))["vaccinations"]) == 1
    assert (await mine(graphql, other))["vaccinations"] == []


def _node_uuid(global_id: str) -> str:
    from strawberry import relay

    return relay.GlobalID.from_id(global_id).node_id


async def test_a_phone_typed_with_punctuation_is_kept_and_matched(graphql, given, engines, site):
    citizen = await given.citizen(phone="0912345678")

    payload = await record(graphql, site.token, nationalId=None, phone="(+84) 912-345-678")

    assert payload["status"] == "INSERTED"
    assert len((await mine(graphql, citizen))["vaccinations"]) == 1
    async with engines[Store.IMMUNIZATION].connect() as immunization:
        typed = await immunization.scalar(sa.text("SELECT phone FROM vaccination_records"))
    assert typed == "(+84) 912-345-678"


async def test_a_voided_dose_leaves_the_citizens_view(graphql, given, site):
    citizen = await given.citizen(national_id=CCCD)
    await record(graphql, site.token)

    body = await graphql.query(
        VOID, {"kind": "VACCINATION", "id": "TC-24-000001"}, token=site.token
    )
    again = await graphql.query(
        VOID, {"kind": "VACCINATION", "id": "TC-24-000001"}, token=site.token
    )

    assert body["data"]["voidRecord"] == {"status": "VOIDED", "userErrors": []}
    assert again["data"]["voidRecord"]["status"] == "UNCHANGED"
    view = await mine(graphql, citizen)
    assert view["vaccinations"] == [] and view["vaccinationStatus"]["dosesReceived"] == 0


async def test_voiding_a_record_the_partner_does_not_have_is_refused(graphql, site, partners):
    other_site = await partners.create("immunization:write", name="Another site")
    await record(graphql, other_site.token)

    body = await graphql.query(
        VOID, {"kind": "VACCINATION", "id": "TC-24-000001"}, token=site.token
    )

    assert body["data"]["voidRecord"] == {
        "status": None,
        "userErrors": [{"field": "sourceRecordId", "code": "NOT_FOUND"}],
    }


async def test_a_sample_and_its_later_result_are_two_versions_of_one_record(
    graphql, given, engines, lab
):
    citizen = await given.citizen(national_id=CCCD)

    collected = await record_test(graphql, lab.token)
    resulted = await record_test(
        graphql,
        lab.token,
        updatedAt="2021-09-01T20:00:00+07:00",
        result="POSITIVE",
        resultedAt="2021-09-01T19:00:00+07:00",
        labCode="CDC-BG",
    )

    assert (collected["status"], resulted["status"]) == ("INSERTED", "UPDATED")
    assert resulted["testResult"]["labName"] == "CDC Bắc Giang"
    edges = (await mine(graphql, citizen))["testResults"]["edges"]
    assert [edge["node"]["result"] for edge in edges] == ["POSITIVE"]
    assert await count_rows(engines, "samples") == 1


async def test_a_voided_test_result_leaves_the_citizens_view(graphql, given, lab):
    citizen = await given.citizen(national_id=CCCD)
    await record_test(graphql, lab.token)

    body = await graphql.query(VOID, {"kind": "TEST_RESULT", "id": "XN-24-000001"}, token=lab.token)

    assert body["data"]["voidRecord"]["status"] == "VOIDED"
    assert (await mine(graphql, citizen))["testResults"]["edges"] == []


# Each problem, and next to it the nearest value that is accepted.
DOSE_PROBLEMS = [
    ({"vaccineCode": "COVAXIN"}, {"vaccineCode": "CIGB-66"}, "vaccineCode", "UNKNOWN_VACCINE"),
    ({"doseNumber": 0}, {"doseNumber": 3}, "doseNumber", "DOSE_OUT_OF_RANGE"),
    ({"doseNumber": -1}, {"doseNumber": 1}, "doseNumber", "DOSE_OUT_OF_RANGE"),
    ({"doseNumber": 11}, {"doseNumber": 10}, "doseNumber", "DOSE_OUT_OF_RANGE"),
    (
        {"administeredAt": "2031-03-01T09:00:00+07:00"},
        {"administeredAt": "2022-03-01T09:00:00+07:00"},
        "administeredAt",
        "DATE_IN_FUTURE",
    ),
    (
        {"administeredAt": "2020-12-01T09:00:00+07:00"},
        {"administeredAt": "2021-01-05T09:00:00+07:00"},
        "administeredAt",
        "BEFORE_VACCINE_EXISTED",
    ),
    ({"nationalId": "02409000"}, {"nationalId": "024090004"}, "nationalId", "INVALID_IDENTIFIER"),
    (
        {"nationalId": "0240900045AB"},
        {"nationalId": "0240 9000 4512"},
        "nationalId",
        "INVALID_IDENTIFIER",
    ),
    (
        {"insuranceNumber": "DN424240012345"},
        {"insuranceNumber": "DN4242400123456"},
        "insuranceNumber",
        "INVALID_IDENTIFIER",
    ),
    ({"phone": "0912 345 67"}, {"phone": "01623456789"}, "phone", "INVALID_IDENTIFIER"),
    ({"phone": "01112345678"}, {"phone": "+84 912 345 678"}, "phone", "INVALID_IDENTIFIER"),
    ({"provinceCode": "03"}, {"provinceCode": "01"}, "provinceCode", "UNKNOWN_PROVINCE"),
    ({"fullName": "  "}, {"fullName": "Lê Thị Hoa"}, "fullName", "REQUIRED"),
    ({"dateOfBirth": "2031-01-01"}, {"dateOfBirth": "2011-01-01"}, "dateOfBirth", "DATE_IN_FUTURE"),
    (
        {"updatedAt": "2031-01-01T00:00:00+07:00"},
        {"updatedAt": "2024-01-01T00:00:00+07:00"},
        "updatedAt",
        "DATE_IN_FUTURE",
    ),
]


SAMPLE_PROBLEMS = [
    ({"testType": "PCR_SALIVA"}, {"testType": "rapid_antigen"}, "testType", "UNKNOWN_TEST_TYPE"),
    ({"result": "MAYBE"}, {"result": "PENDING"}, "result", "INVALID_VALUE"),
    (
        {"result": "NEGATIVE", "resultedAt": "2021-09-01T19:00:00+07:00"},
        {"result": "NEGATIVE", "resultedAt": "2021-09-01T19:00:00+07:00", "labCode": "CDC-BG"},
        "labCode",
        "RESULT_WITHOUT_LAB",
    ),
    ({"labCode": "NOWHERE"}, {"labCode": "CDC-BG"}, "labCode", "UNKNOWN_LAB"),
    ({"result": "NEGATIVE", "labCode": "CDC-BG"}, {}, "resultedAt", "REQUIRED"),
    (
        {"collectedAt": "2031-09-01T07:45:00+07:00"},
        {"collectedAt": "2022-09-01T07:45:00+07:00"},
        "collectedAt",
        "DATE_IN_FUTURE",
    ),
    (
        {"testType": "RAPID_ANTIGEN", "poolCode": "P1"},
        {"testType": "RAPID_ANTIGEN"},
        "poolCode",
        "INVALID_VALUE",
    ),
]


# For each kind: how a partner writes it, who writes it, what the write returns, the table.
WRITES = {
    "dose": (record, "site", "vaccination", "vaccination_records"),
    "sample": (record_test, "lab", "testResult", "samples"),
}


@pytest.mark.parametrize(
    ("kind", "bad", "good", "field", "code"),
    [("dose", *problem) for problem in DOSE_PROBLEMS]
    + [("sample", *problem) for problem in SAMPLE_PROBLEMS],
)
async def test_a_record_with_a_problem_is_refused_and_nothing_is_written(
    graphql, engines, site, lab, kind, bad, good, field, code
):
    write, partner_name, written, table = WRITES[kind]
    partner = {"site": site, "lab": lab}[partner_name]

    refused = await write(graphql, partner.token, **bad)
    assert refused["status"] is None and refused[written] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(field, code)]
    assert await count_rows(engines, table) == 0

    accepted = await write(graphql, partner.token, **good)
    assert (accepted["status"], accepted["userErrors"]) == ("INSERTED", [])


async def test_a_partner_records_only_in_the_province_it_serves(graphql, engines, partners):
    bac_giang = await partners.create("immunization:write", province_code="24")

    elsewhere = await record(graphql, bac_giang.token, provinceCode="01")
    at_home = await record(graphql, bac_giang.token, sourceRecordId="TC-2", provinceCode="24")

    assert [(e["field"], e["code"]) for e in elsewhere["userErrors"]] == [
        ("provinceCode", "PROVINCE_NOT_SERVED")
    ]
    assert at_home["status"] == "INSERTED"
    assert await count_rows(engines, "vaccination_records") == 1


@pytest.mark.parametrize(
    ("scopes", "code"),
    [
        (("testing:write",), "FORBIDDEN"),
        (("citizen:read:vaccinations",), "FORBIDDEN"),
        ((), "UNAUTHENTICATED"),
    ],
)
async def test_recording_a_dose_needs_the_immunization_write_scope(
    graphql, engines, partners, scopes, code
):
    token = (await partners.create(*scopes)).token if scopes else None

    body = await graphql.query(RECORD_VACCINATION, {"input": dose()}, token=token)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
    assert await count_rows(engines, "vaccination_records") == 0


async def test_a_citizen_cannot_record_a_dose(graphql, given, engines):
    citizen = await given.citizen(national_id=CCCD)

    body = await graphql.query(RECORD_VACCINATION, {"input": dose()}, as_citizen=citizen)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count_rows(engines, "vaccination_records") == 0


async def test_recording_a_result_needs_the_testing_write_scope(graphql, engines, partners, lab):
    site_only = await partners.create("immunization:write")

    refused = await graphql.query(RECORD_TEST, {"input": sample()}, token=site_only.token)
    accepted = await graphql.query(RECORD_TEST, {"input": sample()}, token=lab.token)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert accepted["data"]["recordTestResult"]["status"] == "INSERTED"
    assert await count_rows(engines, "samples") == 1


async def test_voiding_needs_the_scope_of_the_records_kind(graphql, site, lab):
    await record(graphql, site.token)

    refused = await graphql.query(
        VOID, {"kind": "VACCINATION", "id": "TC-24-000001"}, token=lab.token
    )

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_write_to_a_citizens_record_is_in_their_access_log(graphql, given, site):
    citizen = await given.citizen(national_id=CCCD)
    bystander = await given.citizen(national_id="024090009999")

    await record(graphql, site.token)

    entries = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]
    assert [e["node"] for e in entries] == [
        {"actorName": "Trạm Y tế Tân Mỹ", "action": "WRITE", "sections": ["vaccinations"]}
    ]
    others = (await graphql.query(LOG, as_citizen=bystander))["data"]["me"]["accessLog"]["edges"]
    assert others == []


async def test_the_payload_never_says_who_the_record_belongs_to(graphql, given, site):
    await given.citizen(national_id=CCCD)

    body = await graphql.query(
        """mutation($input: RecordVaccinationInput!) { recordVaccination(input: $input) {
        vaccination { __typename } } }""",
        {"input": dose()},
        token=site.token,
    )
    fields = await graphql.query(
        '{ __type(name: "RecordVaccinationPayload") { fields { name } } }', token=site.token
    )

    assert body["data"]["recordVaccination"]["vaccination"] == {"__typename": "Vaccination"}
    names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert names == {"status", "vaccination", "userErrors"}
