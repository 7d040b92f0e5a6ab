"""Vaccinations from the immunization store, and what they add up to."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.nodes import load_nodes
from api.stores import fetching
from models.stores import Store
from models.vaccination import SeriesRole as SeriesRoleEnum
from models.vaccination import all_vaccines, summarise_series

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
    primary_series_completed_on: dt.date | None
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


def vaccination_from_row(row: Row[Any], role: SeriesRoleEnum | None = None) -> Vaccination:
    return Vaccination(
        id=str(row.id),
        dose_number=row.dose_number,
        series_role=role or SeriesRoleEnum.PRIMARY,
        administered_at=row.administered_at,
        vaccine=vaccine_from_row(row),
        lot_number=row.lot_number,
        site_name=row.site_name,
        province_code=row.province_code,
    )


def vaccinations_from_rows(rows: list[Row[Any]]) -> list[Vaccination]:
    summary = summarise_series([(r.administered_at, r.vaccine_primary_series_doses) for r in rows])
    return [vaccination_from_row(r, role) for r, role in zip(rows, summary.roles, strict=True)]


def status_from_rows(rows: list[Row[Any]]) -> VaccinationStatus:
    summary = summarise_series([(r.administered_at, r.vaccine_primary_series_doses) for r in rows])
    return VaccinationStatus(
        doses_received=summary.doses,
        primary_series_complete=summary.primary_complete,
        primary_series_completed_on=summary.completed_at.date() if summary.completed_at else None,
        booster_doses=summary.boosters,
    )
