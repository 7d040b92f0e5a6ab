"""Vaccinations from the immunization store, and what they add up to."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.nodes import load_nodes
from api.provenance import Provenance, Source, provenance_of, source_of
from models.health_status import PassRules, doses_from_rows, fully_vaccinated_from
from models.link import RecordStore
from models.stores import Store, fetching
from models.vaccination import SeriesRole as SeriesRoleEnum
from models.vaccination import all_vaccines, same_dose, summarise_series

strawberry.enum(SeriesRoleEnum, name="SeriesRole")


@strawberry.type
class Vaccine:
    code: str
    name: str
    brand_names: str
    manufacturer: str
    primary_series_doses: int


@strawberry.type
class Vaccination(relay.Node):
    id: relay.NodeID[str]
    dose_number: int = strawberry.field(description="The dose number as recorded at the site.")
    series_role: SeriesRoleEnum
    administered_at: dt.datetime
    vaccine: Vaccine
    lot_number: str | None
    site_name: str
    province_code: str
    sources: strawberry.Private[list[Source]]

    @strawberry.field(
        description="Where the dose's records come from and how each was matched to you. "
        "A dose recorded by two systems (the site's and the national platform) is shown "
        "once, with both."
    )
    async def provenance(self, info: strawberry.Info) -> list[Provenance]:
        return await provenance_of(info, self.sources)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Vaccination | None"]:
        rows = await load_nodes(info.context.loaders.vaccination_node.load, node_ids)
        return [vaccination_from_row(row) if row is not None else None for row in rows]


@strawberry.type
class VaccinationStatus:
    doses_received: int
    primary_series_complete: bool
    primary_series_completed_on: dt.date | None = strawberry.field(
        description="The local day (pass time zone) of the dose that completed it."
    )
    fully_vaccinated_from: dt.date | None = strawberry.field(
        description="The local day (pass time zone) from which the primary series protects: "
        "the health pass rule."
    )
    booster_doses: int


def catalog_entry_from_row(row: Row[Any]) -> Vaccine:
    return Vaccine(
        code=row.code,
        name=row.name,
        brand_names=row.brand_names,
        manufacturer=row.manufacturer,
        primary_series_doses=row.primary_series_doses,
    )


async def resolve_vaccines(info: strawberry.Info) -> list[Vaccine]:
    async with fetching(info.context.services.engines, Store.IMMUNIZATION) as immunization:
        return [catalog_entry_from_row(row) for row in await all_vaccines(immunization)]


def vaccine_from_row(row: Row[Any]) -> Vaccine:
    """The vaccine of a dose, from the columns a dose row carries it in."""
    return Vaccine(
        code=row.vaccine_code,
        name=row.vaccine_name,
        brand_names=row.vaccine_brand_names,
        manufacturer=row.vaccine_manufacturer,
        primary_series_doses=row.vaccine_primary_series_doses,
    )


def vaccination_from_row(
    row: Row[Any], role: SeriesRoleEnum | None = None, records: list[Row[Any]] | None = None
) -> Vaccination:
    """The dose a row records; `records` are every record of the same dose (row first)."""
    return Vaccination(
        id=str(row.id),
        dose_number=row.dose_number,
        series_role=role or SeriesRoleEnum.PRIMARY,
        administered_at=row.administered_at,
        vaccine=vaccine_from_row(row),
        lot_number=row.lot_number,
        site_name=row.site_name,
        province_code=row.province_code,
        sources=[source_of(RecordStore.IMMUNIZATION, r) for r in records or [row]],
    )


def _series(doses: list[list[Row[Any]]]) -> Any:
    return summarise_series(
        [(d[0].administered_at, d[0].vaccine_primary_series_doses) for d in doses]
    )


def vaccinations_from_rows(rows: list[Row[Any]]) -> list[Vaccination]:
    """A citizen's doses, each once however many systems recorded it (see same_dose)."""
    doses = same_dose(rows)
    summary = _series(doses)
    return [
        vaccination_from_row(records[0], role, records)
        for records, role in zip(doses, summary.roles, strict=True)
    ]


def status_from_rows(rows: list[Row[Any]], rules: PassRules) -> VaccinationStatus:
    summary = _series(same_dose(rows))
    return VaccinationStatus(
        doses_received=summary.doses,
        primary_series_complete=summary.primary_complete,
        primary_series_completed_on=summary.completed_on(rules.time_zone),
        fully_vaccinated_from=fully_vaccinated_from(doses_from_rows(rows), rules),
        booster_doses=summary.boosters,
    )
