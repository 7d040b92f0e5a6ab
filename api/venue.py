"""Venues: where citizens check in."""

from typing import Any

import strawberry
from sqlalchemy import Row

from models.venue import VenueKind as VenueKindEnum

strawberry.enum(VenueKindEnum, name="VenueKind")


@strawberry.type
class Venue:
    code: str
    name: str
    kind: VenueKindEnum
    province_code: str
    address: str | None


def venue_from_row(row: Row[Any], prefix: str = "") -> Venue:
    return Venue(
        code=getattr(row, f"{prefix}code"),
        name=getattr(row, f"{prefix}name"),
        kind=VenueKindEnum(getattr(row, f"{prefix}kind")),
        province_code=getattr(row, f"{prefix}province_code"),
        address=getattr(row, f"{prefix}address"),
    )


async def resolve_venue(info: strawberry.Info, code: str) -> Venue | None:
    row = await info.context.loaders.venue_by_code.load(code.strip())
    return venue_from_row(row) if row is not None else None
