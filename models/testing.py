"""Samples (single or pooled), their results, and labs (testing store)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import RecordStatus, TestingTable, any_of, typed_identifier_indexes, utcnow


class TestType(StrEnum):
    RT_PCR = "RT_PCR"
    RAPID_ANTIGEN = "RAPID_ANTIGEN"


class TestOutcome(StrEnum):
    PENDING = "PENDING"
    NEGATIVE = "NEGATIVE"
    POSITIVE = "POSITIVE"
    INCONCLUSIVE = "INCONCLUSIVE"


class Lab(TestingTable, table=True):
    __tablename__ = "labs"

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=200)
    province_code: str = Field(max_length=2)


class Sample(TestingTable, table=True):
    """One person's sample; people tested in one pooled tube share its pool code and result."""

    __tablename__ = "samples"
    __table_args__ = (sa.UniqueConstraint("source_system", "source_record_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    source_system: str = Field(max_length=50)
    source_record_id: str = Field(max_length=100)
    sample_code: str = Field(max_length=40)
    test_type: TestType = Field(sa_type=sa.String(20))
    pooled: bool = False
    pool_code: str | None = Field(default=None, max_length=40, index=True)
    collected_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    collection_site: str = Field(max_length=200)
    lab_code: str | None = Field(default=None, foreign_key="labs.code", max_length=20)
    result: TestOutcome = Field(default=TestOutcome.PENDING, sa_type=sa.String(20))
    resulted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    national_id: str | None = Field(default=None, max_length=64)
    insurance_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    full_name: str = Field(max_length=200)
    date_of_birth: date | None = None
    province_code: str = Field(max_length=2, index=True)
    status: RecordStatus = Field(default=RecordStatus.VALID, sa_type=sa.String(20))
    # The source's own version (its updatedAt): the newest one wins.
    source_updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # When this service last stored a version of it.
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


typed_identifier_indexes(Sample.__table__)


def _samples_with_lab(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    samples = Sample.__table__
    labs = Lab.__table__
    return (
        sa.select(
            samples.c.id,
            samples.c.sample_code,
            samples.c.test_type,
            samples.c.pooled,
            samples.c.pool_code,
            samples.c.collected_at,
            samples.c.collection_site,
            samples.c.result,
            samples.c.resulted_at,
            samples.c.source_system,
            samples.c.source_record_id,
            samples.c.recorded_at,
            labs.c.name.label("lab_name"),
        )
        .outerjoin(labs, labs.c.code == samples.c.lab_code)
        .where(any_of(samples.c.id, "ids"), *conditions)
        .order_by(samples.c.collected_at.desc(), samples.c.id.desc())
    )


_SAMPLES_BY_IDS = _samples_with_lab(Sample.__table__.c.status == RecordStatus.VALID.value)
_ANY_SAMPLES_BY_IDS = _samples_with_lab()


async def samples_by_ids(testing: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    """Valid samples with their lab's name, newest first."""
    return list((await testing.execute(_SAMPLES_BY_IDS, {"ids": list(ids)})).all())


@dataclass(frozen=True)
class PoolResult:
    result: TestOutcome
    resulted_at: datetime | None


_samples = Sample.__table__
_POOL_RESULTS = (
    sa.select(_samples.c.pool_code, _samples.c.result, _samples.c.resulted_at)
    .ext(distinct_on(_samples.c.pool_code))
    .where(
        any_of(_samples.c.pool_code, "pool_codes"),
        _samples.c.result != TestOutcome.PENDING.value,
    )
    .order_by(_samples.c.pool_code, _samples.c.resulted_at.desc().nulls_last())
)


async def pool_results(
    testing: AsyncConnection, pool_codes: Sequence[str]
) -> dict[str, PoolResult]:
    """Each pool's result: the newest one recorded on any sample of the tube (a lab may
    record it once, on one sample, or on each). Pools with no result yet are absent."""
    rows = await testing.execute(_POOL_RESULTS, {"pool_codes": list(pool_codes)})
    return {code: PoolResult(TestOutcome(result), at) for code, result, at in rows.all()}


async def samples_in_any_status(
    testing: AsyncConnection, ids: Sequence[uuid.UUID]
) -> list[sa.Row[Any]]:
    """Samples as a writer just stored them, entered in error or not."""
    return list((await testing.execute(_ANY_SAMPLES_BY_IDS, {"ids": list(ids)})).all())
