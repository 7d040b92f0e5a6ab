"""Vaccination records as captured at sites, and the vaccine catalog (immunization store)."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import ImmunizationTable, RecordStatus, any_of, typed_identifier_indexes, utcnow


class Vaccine(ImmunizationTable, table=True):
    __tablename__ = "vaccines"

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=100)
    brand_names: str = Field(max_length=200)
    manufacturer: str = Field(max_length=100)
    primary_series_doses: int = Field(ge=1)
    # The first day it was authorised anywhere: a dose dated earlier is a typing error.
    available_from: date | None = None


class VaccinationRecord(ImmunizationTable, table=True):
    __tablename__ = "vaccination_records"
    __table_args__ = (sa.UniqueConstraint("source_system", "source_record_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    source_system: str = Field(max_length=50)
    source_record_id: str = Field(max_length=100)
    # Identifiers exactly as typed at the site; matching normalises them.
    national_id: str | None = Field(default=None, max_length=64)
    insurance_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    full_name: str = Field(max_length=200)
    date_of_birth: date | None = None
    vaccine_code: str = Field(foreign_key="vaccines.code", max_length=20)
    dose_number: int = Field(ge=1)
    administered_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    lot_number: str | None = Field(default=None, max_length=40)
    site_name: str = Field(max_length=200)
    province_code: str = Field(max_length=2, index=True)
    status: RecordStatus = Field(default=RecordStatus.VALID, sa_type=sa.String(20))
    # The source's own version (its updatedAt): the newest one wins.
    source_updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # When this service last stored a version of it.
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


typed_identifier_indexes(VaccinationRecord.__table__)
_records = VaccinationRecord.__table__
_vaccines = Vaccine.__table__


def _records_with_vaccine(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    records, vaccines = _records, _vaccines
    return (
        sa.select(
            records.c.id,
            records.c.dose_number,
            records.c.administered_at,
            records.c.lot_number,
            records.c.site_name,
            records.c.province_code,
            records.c.source_system,
            records.c.source_record_id,
            records.c.recorded_at,
            vaccines.c.code.label("vaccine_code"),
            vaccines.c.name.label("vaccine_name"),
            vaccines.c.brand_names.label("vaccine_brand_names"),
            vaccines.c.manufacturer.label("vaccine_manufacturer"),
            vaccines.c.primary_series_doses.label("vaccine_primary_series_doses"),
        )
        .join(vaccines, vaccines.c.code == records.c.vaccine_code)
        .where(any_of(records.c.id, "ids"), *conditions)
        .order_by(records.c.administered_at, records.c.id)
    )


_VALID_RECORDS_BY_IDS = _records_with_vaccine(_records.c.status == RecordStatus.VALID.value)
_RECORDS_BY_IDS = _records_with_vaccine()


async def valid_records_by_ids(
    immunization: AsyncConnection, ids: Sequence[uuid.UUID]
) -> list[sa.Row[Any]]:
    """Valid records with their vaccine, oldest dose first."""
    return list((await immunization.execute(_VALID_RECORDS_BY_IDS, {"ids": list(ids)})).all())


async def records_by_ids(
    immunization: AsyncConnection, ids: Sequence[uuid.UUID]
) -> list[sa.Row[Any]]:
    """Records in any status (as a writer just stored them), with their vaccine."""
    return list((await immunization.execute(_RECORDS_BY_IDS, {"ids": list(ids)})).all())


async def all_vaccines(immunization: AsyncConnection) -> list[sa.Row[Any]]:
    vaccines = Vaccine.__table__
    return list((await immunization.execute(sa.select(vaccines).order_by(vaccines.c.code))).all())


RowT = TypeVar("RowT")
# Sites and the national platform date doses in local days.
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")


def same_dose(
    rows: Sequence[RowT], field: Callable[[RowT, str], Any] = getattr
) -> list[list[RowT]]:
    """The doses a citizen received, each with every record of it, oldest first.

    One dose is often recorded twice: by the site's own system and by the national
    platform, each with its own source record ID. Records of the same citizen (rows are
    one citizen's), the same vaccine and the same local calendar day (Asia/Ho_Chi_Minh)
    are one dose: nobody is given the same vaccine twice in a day. The first record
    (oldest, then by ID) speaks for the dose; the others add their provenance. `field`
    reads a column of a row (rows of other drivers are read by name).
    """
    doses: dict[tuple[str, date], list[RowT]] = {}
    for row in rows:
        day = field(row, "administered_at").astimezone(LOCAL_TIME).date()
        doses.setdefault((field(row, "vaccine_code"), day), []).append(row)
    return sorted(
        doses.values(),
        key=lambda records: (field(records[0], "administered_at"), field(records[0], "id")),
    )


class SeriesRole(StrEnum):
    PRIMARY = "PRIMARY"
    BOOSTER = "BOOSTER"


@dataclass(frozen=True)
class SeriesSummary:
    roles: list[SeriesRole]
    primary_complete: bool
    completed_at: datetime | None

    @property
    def doses(self) -> int:
        return len(self.roles)

    @property
    def boosters(self) -> int:
        return self.roles.count(SeriesRole.BOOSTER)

    def completed_on(self, zone: tzinfo) -> date | None:
        """The calendar day, in zone, of the dose that completed the primary series."""
        return self.completed_at.astimezone(zone).date() if self.completed_at else None


def summarise_series(doses: Sequence[tuple[datetime, int]]) -> SeriesSummary:
    """Given (administered_at, primary_series_doses of its vaccine) oldest first.

    Mixed series count: the primary series is complete at the first dose whose
    position in the series reaches the dose count its own vaccine requires (so
    AstraZeneca then Pfizer completes at dose 2, Janssen at dose 1, Abdala at
    dose 3). Every later dose is a booster.
    """
    roles: list[SeriesRole] = []
    completed_at: datetime | None = None
    for position, (administered_at, required) in enumerate(doses, start=1):
        if completed_at is not None:
            roles.append(SeriesRole.BOOSTER)
            continue
        roles.append(SeriesRole.PRIMARY)
        if position >= required:
            completed_at = administered_at
    return SeriesSummary(roles, completed_at is not None, completed_at)
