"""Where a record shown to a citizen comes from, and how it was matched to them."""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import Row

from models.link import LinkMethod, RecordStore

strawberry.enum(LinkMethod, name="MatchMethod")


@strawberry.type
class Provenance:
    source_system: str = strawberry.field(description="The system that sent the record.")
    source_record_id: str = strawberry.field(description="Its ID in that system.")
    last_synchronised_at: dt.datetime = strawberry.field(
        description="When this service last stored a version of the record."
    )
    matched_by: LinkMethod | None = strawberry.field(
        description="How the record was matched to you: national ID, insurance number, "
        "phone and birth date, or by a province operator."
    )


@dataclass(frozen=True)
class Source:
    store: RecordStore
    record_id: uuid.UUID
    source_system: str
    source_record_id: str
    recorded_at: dt.datetime


def source_of(store: RecordStore, row: Row[Any]) -> Source:
    return Source(store, row.id, row.source_system, row.source_record_id, row.recorded_at)


async def provenance_of(info: strawberry.Info, sources: list[Source]) -> list[Provenance]:
    loader = info.context.loaders.link_method
    methods = await loader.load_many([(s.store, s.record_id) for s in sources])
    return [
        Provenance(
            source_system=source.source_system,
            source_record_id=source.source_record_id,
            last_synchronised_at=source.recorded_at,
            matched_by=method,
        )
        for source, method in zip(sources, methods, strict=True)
    ]
