"""A signed-in citizen sees their vaccinations, test results and check-ins in one request."""

from datetime import UTC, date, datetime

from models.testing import TestOutcome, TestType
from models.venue import VenueKind

DASHBOARD = """
query {
  me {
    fullName dateOfBirth phoneMasked
    vaccinationStatus { dosesReceived primarySeriesComplete primarySeriesCompletedOn boosterDoses }
    vaccinations { doseNumber seriesRole administeredAt vaccine { code name } }
    testResults(first: 5) { edges { node { testType pooled result } } pageInfo { hasNextPage } }
    checkIns(first: 10) { edges { node { method venue { name kind } } } pageInfo { hasNextPage } }
  }
}
"""


async def test_dashboard_shows_the_citizens_own_records_across_the_three_stores(graphql, given):
    me = await given.citizen(
        phone="0912000001", national_id="024090001234", insurance_number="HS4240123456789"
    )
    await given.vaccination(
        vaccine_code="AZD1222",
        national_id="024090001234",
        administered_at=datetime(2021, 7, 1, tzinfo=UTC),
    )
    await given.vaccination(
        vaccine_code="BNT162b2",
        dose_number=2,
        insurance_number="HS4240123456789",
        administered_at=datetime(2021, 9, 30, tzinfo=UTC),
    )
    await given.vaccination(
        vaccine_code="mRNA-1273",
        dose_number=3,
        phone="0912 000 001",
        date_of_birth=date(1990, 5, 14),
        administered_at=datetime(2022, 3, 2, tzinfo=UTC),
    )
    await given.sample(pooled=True, result=TestOutcome.NEGATIVE, national_id="024090001234")
    await given.sample(
        test_type=TestType.RAPID_ANTIGEN, result=TestOutcome.PENDING, national_id="024090001234"
    )
    market = await given.venue(VenueKind.MARKET, "Chợ Lục Ngạn")
    await given.check_ins(me, market, 3)

    body = await graphql.query(DASHBOARD, as_citizen=me)

    assert "errors" not in body
    citizen = body["data"]["me"]
    assert citizen["fullName"] == "Nguyễn Văn An"
    assert citizen["phoneMasked"] == "091****001"
    assert citizen["vaccinationStatus"] == {
        "dosesReceived": 3,
        "primarySeriesComplete": True,
        "primarySeriesCompletedOn": "2021-09-30",
        "boosterDoses": 1,
    }
    assert [v["vaccine"]["code"] for v in citizen["vaccinations"]] == [
        "AZD1222",
        "BNT162b2",
        "mRNA-1273",
    ]
    assert [v["seriesRole"] for v in citizen["vaccinations"]] == ["PRIMARY", "PRIMARY", "BOOSTER"]
    results = [e["node"] for e in citizen["testResults"]["edges"]]
    assert results == [
        {"testType": "RAPID_ANTIGEN", "pooled": False, "result": "PENDING"},
        {"testType": "RT_PCR", "pooled": True, "result": "NEGATIVE"},
    ]
    check_ins = citizen["checkIns"]["edges"]
    assert len(check_ins) == 3
    assert check_ins[0]["node"]["venue"] == {"name": "Chợ Lục Ngạn", "kind": "MARKET"}


async def test_dashboard_without_a_token_is_unauthenticated(graphql):
    body = await graphql.query("{ me { fullName } }")

    assert body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["me"]


async def test_vaccine_catalog_lists_every_vaccine_used_in_vietnam(graphql):
    body = await graphql.query("{ vaccines { code primarySeriesDoses } }")

    doses = {v["code"]: v["primarySeriesDoses"] for v in body["data"]["vaccines"]}
    assert doses == {
        "AZD1222": 2,
        "BNT162b2": 2,
        "mRNA-1273": 2,
        "BBIBP-CorV": 2,
        "Gam-COVID-Vac": 2,
        "Ad26.COV2.S": 1,
        "CIGB-66": 3,
    }
