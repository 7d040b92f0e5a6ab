"""A citizen reports a missing or wrong record; the province office answers; only they see it."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from strawberry import relay

from tests.conftest import Given, GraphQLClient

REPORT = """mutation($input: RecordIssueInput!) { reportRecordIssue(input: $input) {
  issue { id recordKind kind recordId provinceCode site occurredOn vaccineCode doseNumber
    description status answer }
  userErrors { field code message } } }"""
MINE = """{ me { recordIssues { edges { node { id kind status answer description } } } } }"""
PROVINCE = """query($status: [RecordIssueStatus!]) { recordIssues(status: $status) {
  edges { node { issue { id description status } citizen { id fullName } } } } }"""
ANSWER = """mutation($input: AnswerRecordIssueInput!) { answerRecordIssue(input: $input) {
  issue { id status answer } userErrors { field code } } }"""
LOG = "{ me { accessLog { edges { node { actorName action sections } } } } }"
MISSING = {
    "recordKind": "VACCINATION",
    "kind": "MISSING",
    "description": "Mũi 2 tiêm ở trạm y tế nhưng không thấy trên ứng dụng",
    "provinceCode": "24",
    "site": "Trạm Y tế xã Tân Mỹ",
    "occurredOn": "2021-09-20",
    "vaccineCode": "AZD1222",
    "doseNumber": 2,
}


async def report(graphql: GraphQLClient, citizen: uuid.UUID, **input: Any) -> dict[str, Any]:
    body = await graphql.query(REPORT, {"input": input}, as_citizen=citizen)
    assert "errors" not in body, body
    return dict(body["data"]["reportRecordIssue"])


async def operator(partners: Any, province: str = "24", name: str = "Sở Y tế Bắc Giang") -> str:
    return str((await partners.create("reconcile", name=name, province_code=province)).token)


async def test_a_citizen_reports_a_missing_dose_and_sees_it_open(
    graphql: GraphQLClient, given: Given
) -> None:
    citizen = await given.citizen()

    reported = await report(graphql, citizen, **MISSING)

    assert reported["userErrors"] == []
    assert reported["issue"]["status"] == "OPEN"
    assert reported["issue"]["doseNumber"] == 2
    mine = (await graphql.query(MINE, as_citizen=citizen))["data"]["me"]["recordIssues"]
    assert [e["node"]["id"] for e in mine["edges"]] == [reported["issue"]["id"]]


async def test_another_citizen_never_sees_the_report(graphql: GraphQLClient, given: Given) -> None:
    citizen, other = await given.citizen(), await given.citizen()
    await report(graphql, citizen, **MISSING)

    theirs = (await graphql.query(MINE, as_citizen=other))["data"]["me"]["recordIssues"]

    assert theirs["edges"] == []


async def test_a_wrong_dose_is_reported_by_its_id_and_lands_in_its_province(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen(national_id="001090001234", province_code="24")
    await given.vaccination(national_id="001090001234", province_code="01")
    [dose] = (await graphql.query("{ me { vaccinations { id } } }", as_citizen=citizen))["data"][
        "me"
    ]["vaccinations"]

    reported = await report(
        graphql,
        citizen,
        recordKind="VACCINATION",
        kind="WRONG",
        recordId=dose["id"],
        description="Ngày tiêm sai",
    )

    assert (reported["issue"]["recordId"], reported["issue"]["provinceCode"]) == (dose["id"], "01")
    hanoi = await graphql.query(PROVINCE, token=await operator(partners, "01", "Sở Y tế Hà Nội"))
    assert len(hanoi["data"]["recordIssues"]["edges"]) == 1
    bac_giang = await graphql.query(PROVINCE, token=await operator(partners))
    assert bac_giang["data"]["recordIssues"]["edges"] == []


async def test_a_citizen_cannot_report_on_another_citizens_record(
    graphql: GraphQLClient, given: Given
) -> None:
    owner = await given.citizen(national_id="001090001234")
    await given.vaccination(national_id="001090001234")
    [dose] = (await graphql.query("{ me { vaccinations { id } } }", as_citizen=owner))["data"][
        "me"
    ]["vaccinations"]
    other = await given.citizen()

    refused = await report(
        graphql,
        other,
        recordKind="VACCINATION",
        kind="NOT_MINE",
        recordId=dose["id"],
        description="x",
    )

    assert (refused["issue"], refused["userErrors"][0]["field"]) == (None, "recordId")
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": "  "}, "description"),
        ({"occurredOn": (date.today() + timedelta(days=2)).isoformat()}, "occurredOn"),
        ({"doseNumber": 0}, "doseNumber"),
        ({"vaccineCode": "COVAXIN"}, "vaccineCode"),
        ({"provinceCode": "Bắc Giang"}, "provinceCode"),
        ({"kind": "WRONG"}, "recordId"),
    ],
)
async def test_a_report_that_makes_no_sense_is_refused_with_the_field(
    graphql: GraphQLClient, given: Given, change: dict[str, Any], field: str
) -> None:
    citizen = await given.citizen()

    refused = await report(graphql, citizen, **{**MISSING, **change})

    assert refused["issue"] is None
    assert refused["userErrors"][0]["field"] == field
    mine = (await graphql.query(MINE, as_citizen=citizen))["data"]["me"]["recordIssues"]
    assert mine["edges"] == []


async def test_the_office_answers_and_the_citizen_reads_the_answer(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen(full_name="Trần Thị Bình")
    issue = (await report(graphql, citizen, **MISSING))["issue"]
    token = await operator(partners)
    listed = (await graphql.query(PROVINCE, token=token))["data"]["recordIssues"]["edges"]
    assert [(e["node"]["issue"]["id"], e["node"]["citizen"]["fullName"]) for e in listed] == [
        (issue["id"], "Trần Thị Bình")
    ]

    answered = await graphql.query(
        ANSWER,
        {"input": {"id": issue["id"], "answer": "Đã bổ sung mũi 2", "close": True}},
        token=token,
    )

    assert answered["data"]["answerRecordIssue"]["issue"]["status"] == "CLOSED"
    [mine] = (await graphql.query(MINE, as_citizen=citizen))["data"]["me"]["recordIssues"]["edges"]
    assert (mine["node"]["status"], mine["node"]["answer"]) == ("CLOSED", "Đã bổ sung mũi 2")
    log = (await graphql.query(LOG, as_citizen=citizen))["data"]["me"]["accessLog"]["edges"]
    assert sorted(e["node"]["action"] for e in log) == ["ANSWER", "READ"]
    assert {e["node"]["actorName"] for e in log} == {"Sở Y tế Bắc Giang"}
    # Closed reports leave the office's default list.
    assert (await graphql.query(PROVINCE, token=token))["data"]["recordIssues"]["edges"] == []


async def test_another_provinces_office_can_neither_list_nor_answer_the_report(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen()
    issue = (await report(graphql, citizen, **MISSING))["issue"]
    token = await operator(partners, "01", "Sở Y tế Hà Nội")

    listed = await graphql.query(PROVINCE, token=token)
    answered = await graphql.query(
        ANSWER, {"input": {"id": issue["id"], "answer": "?"}}, token=token
    )

    assert listed["data"]["recordIssues"]["edges"] == []
    assert answered["data"]["answerRecordIssue"]["userErrors"][0]["code"] == "NOT_FOUND"
    [mine] = (await graphql.query(MINE, as_citizen=citizen))["data"]["me"]["recordIssues"]["edges"]
    assert (mine["node"]["status"], mine["node"]["answer"]) == ("OPEN", None)


@pytest.mark.parametrize("caller", ["citizen", "partner without reconcile"])
async def test_only_province_offices_list_reports(
    graphql: GraphQLClient, given: Given, partners: Any, caller: str
) -> None:
    citizen = await given.citizen()
    await report(graphql, citizen, **MISSING)
    if caller == "citizen":
        token = graphql.issuer.issue(citizen)
    else:
        token = (await partners.create("citizen:read:vaccinations", province_code="24")).token

    body = await graphql.query(PROVINCE, token=token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_partner_reading_a_citizen_never_sees_their_reports(
    graphql: GraphQLClient, given: Given, partners: Any
) -> None:
    citizen = await given.citizen()
    await report(graphql, citizen, **MISSING)
    reader = await partners.create("citizen:read:vaccinations")
    await partners.consent(citizen, reader.partner_id, "citizen:read:vaccinations")
    node = str(relay.GlobalID("Citizen", str(citizen)))

    body = await graphql.query(
        "query($id: ID!) { citizen(id: $id) { recordIssues { edges { node { id } } } } }",
        {"id": node},
        token=reader.token,
    )

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
