"""Test results from the testing store."""

import datetime as dt
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.live import notices
from api.nodes import load_nodes
from models.notify import Channel
from models.testing import TestOutcome, TestType

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
    result: TestOutcome
    resulted_at: dt.datetime | None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["TestResult | None"]:
        rows = await load_nodes(info.context.loaders.test_result_node.load, node_ids)
        return [test_result_from_row(row) if row is not None else None for row in rows]


@strawberry.type
class TestResultConnection(relay.Connection[TestResult]):
    pass


def test_result_from_row(row: Row[Any]) -> TestResult:
    return TestResult(
        id=str(row.id),
        sample_code=row.sample_code,
        test_type=TestType(row.test_type),
        pooled=row.pooled,
        pool_code=row.pool_code,
        collected_at=row.collected_at,
        collection_site=row.collection_site,
        lab_name=row.lab_name,
        result=TestOutcome(row.result),
        resulted_at=row.resulted_at,
    )


async def test_result_updated(info: strawberry.Info) -> AsyncGenerator[TestResult, None]:
    async for notice, loaders in notices(info, Channel.TEST_RESULTS):
        # Read again through the citizen's own access rules: a notice names, never shows.
        row = await loaders.test_result_node.load(notice.subject_id)
        if row is not None:
            yield test_result_from_row(row)
