"""A compiled plan answers exactly as the generic executor does, or leaves it to it.

Hypothesis builds a citizen with doses, samples (pooled ones in tubes that have
a result or not) and check-ins (and a neighbour with their own), a document over
`me` (a random choice of fields, aliases, `__typename`, page sizes and a
cursor), and a caller: the citizen, the neighbour, a partner with or without
consent, nobody; with the three stores in three databases, and in one (where a
plan reads them all in one statement). The generic executor
answers first; the plan compiled from the same document must then give the
same data for the citizen's own reads and decline everything else, and the
answer served over HTTP once the plan is known must be byte for byte the same.
"""

import re
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from graphql import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.pagination import encode_cursor
from api.plans import CHECK_IN_CURSOR, TEST_CURSOR, Plans, Unsupported, compile_plan
from api.schema import schema
from auth.health_pass import PassIssuer
from auth.principal import CitizenPrincipal
from models.checkin import CheckInMethod
from models.config import Settings
from models.stores import StoreUrls
from models.testing import TestOutcome, TestType
from models.venue import VenueKind

REPO = Path(__file__).parent.parent
VACCINES = ("AZD1222", "BNT162b2", "Ad26.COV2.S", "CIGB-66")

CITIZEN_LEAVES = ("id", "fullName", "dateOfBirth", "phoneMasked", "provinceCode", "__typename")
STATUS = (
    "dosesReceived",
    "primarySeriesComplete",
    "primarySeriesCompletedOn",
    "fullyVaccinatedFrom",
    "boosterDoses",
)
DOSE = (
    "id",
    "doseNumber",
    "seriesRole",
    "administeredAt",
    "lotNumber",
    "siteName",
    "provinceCode",
    "__typename",
)
VACCINE = ("code", "name", "brandNames", "manufacturer", "primarySeriesDoses")
TEST_RESULT = (
    "id",
    "sampleCode",
    "testType",
    "pooled",
    "poolCode",
    "collectedAt",
    "collectionSite",
    "labName",
    "result",
    "resultedAt",
    "retestRequired",
    "__typename",
)
CHECK_IN = ("id", "checkedInAt", "method", "deletesAt")
VENUE = ("code", "name", "kind", "provinceCode", "address", "district", "closedAt")
DECLARATION = """healthDeclaration { fever cough shortnessOfBreath lossOfTasteOrSmell
  contactWithCase travelledLast14Days travelledFrom }"""
HEALTH_PASS = "{ passId colour reasons validUntil issuedAt showsFullName credential qrSvg }"


def _some(draw: st.DrawFn, fields: tuple[str, ...]) -> str:
    """A few of the fields (at least one), in their order."""
    chosen = draw(st.sets(st.sampled_from(fields), min_size=1))
    return " ".join(field for field in fields if field in chosen)


START = datetime(2021, 7, 1, 8, tzinfo=UTC)
# Cursors into the middle of the lists: test results collected within START + 5000 hours,
# check-ins every 37 minutes from START.
TEST_CURSOR_AT = encode_cursor(TEST_CURSOR, START + timedelta(hours=2500), uuid.UUID(int=2**127))
CHECK_IN_CURSOR_AT = encode_cursor(
    CHECK_IN_CURSOR, START + timedelta(minutes=37 * 3), uuid.UUID(int=2**127)
)


async def _world(given_: Any, serial: int, shape: dict[str, Any]) -> uuid.UUID:
    national_id = f"0240{serial:08d}"
    citizen = await given_.citizen(
        national_id=national_id, phone=f"09{serial:08d}", without_phone=not shape.get("phone", True)
    )
    start = START
    for n, (vaccine, days) in enumerate(shape["doses"]):
        await given_.vaccination(
            vaccine_code=vaccine,
            dose_number=n + 1,
            administered_at=start + timedelta(days=days),
            national_id=national_id,
            status="VALID" if days % 7 else "ENTERED_IN_ERROR",
        )
    for n, (test_type, outcome, pooled, hours, tube) in enumerate(shape["samples"]):
        collected_at = start + timedelta(hours=hours)
        tube_code = f"T{serial}-{n}"
        await given_.sample(
            test_type=test_type,
            result=outcome,
            pooled=pooled,
            collected_at=collected_at,
            national_id=national_id,
            pool_code=tube_code,
        )
        if pooled and tube is not None:  # the tube's result, on another sample of it
            await given_.sample(
                test_type=test_type,
                result=tube,
                pooled=True,
                collected_at=collected_at,
                resulted_at=collected_at + timedelta(hours=5, minutes=n),
                pool_code=tube_code,
            )
    venue = await given_.venue(
        shape["venue"], f"Địa điểm {serial}", district=shape["district"], closed=shape["closed"]
    )
    if shape["visits"]:
        await given_.check_ins(
            citizen, venue, shape["visits"], start=start, declaration=shape["declaration"]
        )
    if shape["staff_visit"]:
        at = start + timedelta(days=3, minutes=11)
        await given_.check_in(citizen, venue, at, method=CheckInMethod.STAFF_SCAN_INSURANCE)
    return citizen


worlds = st.fixed_dictionaries(
    {
        "doses": st.lists(st.tuples(st.sampled_from(VACCINES), st.integers(0, 400)), max_size=4),
        "samples": st.lists(
            st.tuples(
                st.sampled_from(list(TestType)),
                st.sampled_from(list(TestOutcome)),
                st.booleans(),
                st.integers(0, 5000),
                st.none() | st.sampled_from(list(TestOutcome)),
            ),
            max_size=8,
        ),
        "visits": st.integers(0, 7),
        "staff_visit": st.booleans(),
        "venue": st.sampled_from(list(VenueKind)),
        "district": st.sampled_from([None, "Quận Ba Đình"]),
        "closed": st.booleans(),
        "declaration": st.sampled_from(
            [
                None,
                {"fever": True, "lossOfTasteOrSmell": True, "travelledLast14Days": False},
                {"cough": False, "travelledLast14Days": True, "travelledFrom": "Đà Nẵng"},
            ]
        ),
        # Citizens a province office registered have no phone (phoneMasked is null).
        "phone": st.booleans(),
    }
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = [
        f"{'a' + leaf + ': ' if draw(st.booleans()) else ''}{leaf}"
        for leaf in CITIZEN_LEAVES
        if draw(st.booleans())
    ]
    if draw(st.booleans()):
        parts.append(f"vaccinationStatus {{ {_some(draw, STATUS)} }}")
    if draw(st.booleans()):
        vaccine = f"vaccine {{ {_some(draw, VACCINE)} }}" if draw(st.booleans()) else ""
        parts.append(f"doses: vaccinations {{ {_some(draw, DOSE)} {vaccine} }}")
    if draw(st.booleans()):
        first = draw(
            st.sampled_from(
                [
                    "",
                    "(first: 0)",
                    "(first: 2)",
                    "(first: 5)",
                    "(first: null)",
                    f'(first: 2, after: "{TEST_CURSOR_AT}")',
                ]
            )
        )
        tests = f"""{{ edges {{ cursor node {{ {_some(draw, TEST_RESULT)} }} }}
          pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }}"""
        parts.append(f"testResults{first} {tests}")
    if draw(st.booleans()):
        first = draw(
            st.sampled_from(
                ["", "(first: 1)", "(first: 3)", "(first: 10)", f'(after: "{CHECK_IN_CURSOR_AT}")']
            )
        )
        venue = f"venue {{ {_some(draw, VENUE)} }}" if draw(st.booleans()) else ""
        declaration = DECLARATION if draw(st.booleans()) else ""
        check_ins = f"""{{ __typename edges {{ cursor node {{ {_some(draw, CHECK_IN)} {venue}
          {declaration} }} }} pageInfo {{ hasNextPage endCursor }} }}"""
        parts.append(f"visits: checkIns{first} {check_ins}")
    if draw(st.booleans()):
        parts.append(f"healthPass {HEALTH_PASS}")
    if not parts:
        parts.append("fullName")
    root = "__typename " if draw(st.booleans()) else ""
    me = draw(st.sampled_from(["me", "mine: me"]))
    return f"query Dashboard {{ {root}{me} {{ {' '.join(parts)} }} }}"


CALLERS = ("self", "neighbour", "partner with consent", "partner without consent", "nobody")


async def _token(caller: str, issuer: Any, partners: Any, me: uuid.UUID, other: uuid.UUID) -> Any:
    if caller == "self":
        return issuer.issue(me)
    if caller == "neighbour":
        return issuer.issue(other)
    if caller == "nobody":
        return None
    scopes = ("citizen:read:vaccinations", "citizen:read:tests", "citizen:read:checkins")
    partner = await partners.create(*scopes)
    if caller == "partner with consent":
        await partners.consent(me, partner.partner_id, *scopes)
    return partner.token


def _context(citizen: uuid.UUID, engines: Any, settings: Settings) -> Any:
    """As the app builds it, with the pass keys of the app under test."""
    return SimpleNamespace(
        principal=CitizenPrincipal(citizen_id=citizen),
        services=SimpleNamespace(
            engines=engines, passes=PassIssuer.from_settings(settings), settings=settings
        ),
    )


@pytest.fixture
def fresh_plans():
    """Plans learnt in this test only."""
    kept = schema.plans
    schema.plans = Plans()
    yield schema.plans
    schema.plans = kept


@pytest.fixture(params=["three databases", "one database"])
def stores(request, given, partners, graphql, engines, one_database):
    """The stores under test, in one of the layouts a deployment may have."""
    if request.param == "one database":
        return one_database
    return SimpleNamespace(given=given, partners=partners, graphql=graphql, engines=engines)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mine=worlds, theirs=worlds, document=documents(), caller=st.sampled_from(CALLERS))
async def test_a_plan_answers_as_the_generic_executor_does(
    stores, settings, issuer, fresh_plans, mine, theirs, document, caller
):
    serial = stores.given._next()
    me = await _world(stores.given, serial * 2, mine)
    other = await _world(stores.given, serial * 2 + 1, theirs)
    token = await _token(caller, issuer, stores.partners, me, other)
    fresh_plans.__init__()

    generic = await stores.graphql.query(document, token=token)
    plan = compile_plan(parse(document))
    planned = await plan.answer(_context(me, stores.engines, settings))
    served = await stores.graphql.query(document, token=token)

    assert "errors" not in generic or caller != "self"
    if caller == "self":
        assert planned == generic["data"]
    assert served == generic


async def test_the_dashboard_document_compiles_to_a_plan():
    text = (REPO / "bench" / "dashboard.graphql").read_text()

    assert compile_plan(parse(text)).wanted.doses


def test_the_readmes_dashboard_compiles_to_a_plan():
    readme = (REPO / "README.md").read_text()
    [dashboard] = [
        block
        for block in re.findall(r"```graphql\n(.*?)```", readme, re.S)
        if block.startswith("query Dashboard")
    ]

    plan = compile_plan(parse(dashboard))

    assert plan.wanted.doses and plan.wanted.tests and plan.wanted.check_ins


@pytest.mark.parametrize(
    "document",
    [
        "{ me { fullName } vaccines { code } }",
        "{ me { consents { id } } }",
        "{ me { fullName @include(if: true) } }",
        "{ me { ...F } } fragment F on Citizen { fullName }",
        "query($n: Int) { me { checkIns(first: $n) { edges { cursor } } } }",
        '{ me { testResults(after: "not-a-cursor") { edges { cursor } } } }',
        "{ me { testResults(first: 1000) { edges { cursor } } } }",
        "mutation { logout { ok } }",
        "{ a: me { fullName } b: me { fullName } }",
    ],
)
def test_a_document_a_plan_does_not_know_is_left_to_the_generic_executor(document):
    with pytest.raises(Unsupported):
        compile_plan(parse(document))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_plan_leaves_a_store_that_is_down_to_the_generic_executor(
    settings, store_urls, engines, issuer, given, fresh_plans
):
    citizen = await _world(
        given,
        given._next(),
        {
            "doses": [("AZD1222", 3)],
            "samples": [(TestType.RT_PCR, TestOutcome.NEGATIVE, False, 5, None)],
            "visits": 2,
            "staff_visit": False,
            "venue": VenueKind.MARKET,
            "district": None,
            "closed": False,
            "declaration": None,
        },
    )
    document = f"""{{ me {{ fullName
      vaccinations {{ {" ".join(DOSE)} vaccine {{ {" ".join(VACCINE)} }} }}
      testResults {{ edges {{ cursor node {{ {" ".join(TEST_RESULT)} }} }} }}
      checkIns {{ edges {{ cursor node {{ {" ".join(CHECK_IN)} venue {{ {" ".join(VENUE)} }}
        {DECLARATION} }} }} }} }} }}"""
    down = f"postgresql://postgres@127.0.0.1:{_closed_port()}/testing"
    app = create_app(settings, StoreUrls(store_urls.core, store_urls.immunization, down))
    headers = {"Authorization": f"Bearer {issuer.issue(citizen)}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hg") as http:
            fresh_plans.learn(document)
            assert fresh_plans.known(document) is not None
            planned = (
                await http.post("/graphql", json={"query": document}, headers=headers)
            ).json()
            fresh_plans.__init__()
            generic = (
                await http.post("/graphql", json={"query": document}, headers=headers)
            ).json()

    assert planned == generic
    assert planned["data"]["me"]["testResults"] is None
    assert planned["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert planned["errors"][0]["path"] == ["me", "testResults"]


async def test_a_plan_declines_a_citizen_that_is_gone(engines, settings):
    plan = compile_plan(parse("{ me { fullName } }"))

    assert await plan.answer(_context(uuid.uuid4(), engines, settings)) is None
