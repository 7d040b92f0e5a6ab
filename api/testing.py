"""Test results from the testing store."""

import datetime as dt
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.live import notices
from api.loaders import Loaders
from api.nodes import load_nodes
from api.provenance import Provenance, Source, provenance_of, source_of
from models.link import RecordStore
from models.notify import Channel
from models.testing import PoolResult, TestOutcome, TestType

strawberry.enum(TestType, name="TestType")
strawberry.enum(TestOutcome, name="TestOutcome")


@strawberry.type
class TestResult(relay.Node):
    id: relay.NodeID[str]
    sample_code: str
    test_type: TestType
    pooled: bool = strawberry.field(description="Tested in a pooled tube with other people.")
    pool_code: str | None
    collected_at: dt.datetime
    collection_site: str
    lab_name: str | None
    result: TestOutcome = strawberry.field(
        description="PENDING until the lab records it (collectedAt says when the sample was "
        "taken). A pooled sample has its tube's result."
    )
    resulted_at: dt.datetime | None
    retest_required: bool = strawberry.field(
        description="The pooled tube was positive: your own result is known only after an "
        "individual test."
    )
    source: strawberry.Private[Source]

    @strawberry.field(description="Where the result comes from and how it was matched to you.")
    async def provenance(self, info: strawberry.Info) -> Provenance:
        [provenance] = await provenance_of(info, [self.source])
        return provenance

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["TestResult | None"]:
        loaders = info.context.loaders
        rows = await load_nodes(loaders.test_result_node.load, node_ids)
        pools = await pools_of(loaders, [row for row in rows if row is not None])
        return [test_result_from_row(row, pools) if row is not None else None for row in rows]


@strawberry.type
class TestResultConnection(relay.Connection[TestResult]):
    pass


async def pools_of(loaders: Loaders, rows: Iterable[Row[Any]]) -> dict[str, PoolResult]:
    """The results of the pooled tubes among the rows."""
    codes = sorted({row.pool_code for row in rows if row.pooled and row.pool_code})
    results = await loaders.pool_result.load_many(codes) if codes else []
    return {code: result for code, result in zip(codes, results, strict=True) if result}


def test_result_from_row(row: Row[Any], pools: dict[str, PoolResult] | None = None) -> TestResult:
    result, resulted_at = TestOutcome(row.result), row.resulted_at
    pool = (pools or {}).get(row.pool_code) if row.pooled else None
    if pool is not None and result is TestOutcome.PENDING:
        result, resulted_at = pool.result, pool.resulted_at
    return TestResult(
        id=str(row.id),
        sample_code=row.sample_code,
        test_type=TestType(row.test_type),
        pooled=row.pooled,
        pool_code=row.pool_code,
        collected_at=row.collected_at,
        collection_site=row.collection_site,
        lab_name=row.lab_name,
        result=result,
        resulted_at=resulted_at,
        retest_required=bool(row.pooled) and result is TestOutcome.POSITIVE,
        source=source_of(RecordStore.TESTING, row),
    )


async def test_result_updated(info: strawberry.Info) -> AsyncGenerator[TestResult, None]:
    async for notice, loaders in notices(info, Channel.TEST_RESULTS):
        # Read again through the citizen's own access rules: a notice names, never shows.
        row = await loaders.test_result_node.load(notice.subject_id)
        if row is not None:
            yield test_result_from_row(row, await pools_of(loaders, [row]))
