"""Which citizen each immunization and testing record belongs to (core store).

Records live in stores we do not own; the outcome of identity matching for
each of them is kept here, so that a citizen's records are found by an index
lookup and unmatched ones form the province operators' reconciliation queue.
Each link also carries when its record happened (dose given, sample taken), so
that a page of a citizen's records is chosen here, in the index, whatever the
length of their history, and only that page is read from the record's store.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, PageKey, any_of, utcnow


class RecordStore(StrEnum):
    IMMUNIZATION = "immunization"
    TESTING = "testing"


class LinkStatus(StrEnum):
    LINKED = "LINKED"
    UNMATCHED = "UNMATCHED"
    # A province operator decided the record belongs to nobody with an account here.
    DISMISSED = "DISMISSED"


class LinkMethod(StrEnum):
    NATIONAL_ID = "NATIONAL_ID"
    INSURANCE_NUMBER = "INSURANCE_NUMBER"
    PHONE_AND_BIRTH_DATE = "PHONE_AND_BIRTH_DATE"
    OPERATOR = "OPERATOR"


class UnmatchedReason(StrEnum):
    NO_MATCH = "NO_MATCH"
    SEVERAL_CITIZENS = "SEVERAL_CITIZENS"
    CONFLICTING_IDENTIFIERS = "CONFLICTING_IDENTIFIERS"


class RecordLink(CoreTable, table=True):
    __tablename__ = "record_links"
    __table_args__ = (
        sa.Index(
            "ix_record_links_citizen_time",
            "citizen_id",
            "store",
            sa.text("occurred_at DESC"),
            sa.text("record_id DESC"),
            postgresql_where=sa.text("citizen_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_record_links_queue",
            "province_code",
            "matched_at",
            postgresql_where=sa.text("status = 'UNMATCHED'"),
        ),
    )

    store: RecordStore = Field(primary_key=True, sa_type=sa.String(16))
    record_id: uuid.UUID = Field(primary_key=True)
    citizen_id: uuid.UUID | None = Field(
        default=None, foreign_key="citizens.id", ondelete="SET NULL"
    )
    status: LinkStatus = Field(sa_type=sa.String(16))
    method: LinkMethod | None = Field(default=None, sa_type=sa.String(24))
    reason: UnmatchedReason | None = Field(default=None, sa_type=sa.String(32))
    province_code: str = Field(max_length=2)
    # Set when a person decided; automatic re-matching never overrides a decision.
    decided_by: str | None = Field(default=None, max_length=100)
    matched_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # When the record happened: the order a citizen's records are listed and paged in.
    occurred_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


# The column of each record store that occurred_at copies.
OCCURRED_AT_COLUMN = {
    RecordStore.IMMUNIZATION: "administered_at",
    RecordStore.TESTING: "collected_at",
}


def link_row(
    store: RecordStore,
    record_id: uuid.UUID,
    province_code: str,
    citizen_id: uuid.UUID | None,
    method: LinkMethod | None,
    reason: UnmatchedReason | None,
    occurred_at: datetime,
) -> dict[str, object]:
    return {
        "store": store.value,
        "record_id": record_id,
        "citizen_id": citizen_id,
        "status": (LinkStatus.LINKED if citizen_id else LinkStatus.UNMATCHED).value,
        "method": method.value if method else None,
        "reason": reason.value if reason else None,
        "province_code": province_code,
        "matched_at": utcnow(),
        "occurred_at": occurred_at,
    }


_LINK_COLUMNS = (
    "store",
    "record_id",
    "citizen_id",
    "status",
    "method",
    "reason",
    "province_code",
    "matched_at",
    "occurred_at",
)
_STAGED_LINKS = "staged_record_links"
_CREATE_STAGED_LINKS = sa.text(
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGED_LINKS} ON COMMIT DELETE ROWS AS "
    f"SELECT {', '.join(_LINK_COLUMNS)} FROM core.record_links WITH NO DATA"
)
_DECIDED_STAYS = ("citizen_id", "status", "method", "reason", "province_code", "matched_at")
_UPSERT_STAGED_LINKS = sa.text(
    f"INSERT INTO core.record_links AS l ({', '.join(_LINK_COLUMNS)}) "
    f"SELECT DISTINCT ON (store, record_id) {', '.join(_LINK_COLUMNS)} FROM {_STAGED_LINKS} "
    "ON CONFLICT (store, record_id) DO UPDATE SET "
    + ", ".join(
        f"{c} = CASE WHEN l.decided_by IS NULL THEN excluded.{c} ELSE l.{c} END"
        for c in _DECIDED_STAYS
    )
    + ", occurred_at = excluded.occurred_at"
)


async def upsert_links(core: AsyncConnection, rows: Sequence[dict[str, object]]) -> None:
    """Insert or refresh automatic outcomes, in the caller's transaction: copied (COPY) into a
    staging table and upserted in one statement. A person's decision is never overwritten,
    but the record's time always follows the record."""
    if not rows:
        return
    await core.execute(_CREATE_STAGED_LINKS)
    raw = await core.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        _STAGED_LINKS,
        columns=list(_LINK_COLUMNS),
        records=[tuple(row[c] for c in _LINK_COLUMNS) for row in rows],
    )
    await core.execute(sa.text(f"ANALYZE {_STAGED_LINKS}"))
    await core.execute(_UPSERT_STAGED_LINKS)


_links = RecordLink.__table__
_LINKED_RECORDS = (
    sa.select(_links.c.citizen_id, _links.c.store, _links.c.record_id)
    .where(
        any_of(_links.c.citizen_id, "citizen_ids"),
        any_of(_links.c.store, "stores"),
        _links.c.status == LinkStatus.LINKED.value,
    )
    .order_by(_links.c.occurred_at, _links.c.record_id)
)
_OWNERS = sa.select(_links.c.record_id, _links.c.citizen_id).where(
    _links.c.store == sa.bindparam("store"),
    any_of(_links.c.record_id, "record_ids"),
    _links.c.status == LinkStatus.LINKED.value,
)


async def linked_record_ids(
    core: AsyncConnection,
    citizen_ids: Sequence[uuid.UUID],
    stores: Sequence[RecordStore] = tuple(RecordStore),
) -> dict[uuid.UUID, dict[RecordStore, list[uuid.UUID]]]:
    """Each citizen's linked records in these stores, by store, oldest first."""
    found: dict[uuid.UUID, dict[RecordStore, list[uuid.UUID]]] = {
        citizen_id: {store: [] for store in RecordStore} for citizen_id in citizen_ids
    }
    parameters = {"citizen_ids": list(citizen_ids), "stores": [s.value for s in stores]}
    rows = await core.execute(_LINKED_RECORDS, parameters)
    for citizen_id, store, record_id in rows.all():
        found[citizen_id][RecordStore(store)].append(record_id)
    return found


async def owner_of(
    core: AsyncConnection, store: RecordStore, record_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The citizen each linked record belongs to."""
    rows = await core.execute(_OWNERS, {"store": store.value, "record_ids": list(record_ids)})
    return {record_id: citizen_id for record_id, citizen_id in rows.all()}


_PAGES = sa.text(
    """
    SELECT k.ord, l.record_id, l.occurred_at
    FROM unnest(CAST(:citizens AS uuid[]), CAST(:after_ats AS timestamptz[]),
                CAST(:after_ids AS uuid[]), CAST(:limits AS int[]))
         WITH ORDINALITY AS k(citizen_id, after_at, after_id, lim, ord)
    CROSS JOIN LATERAL (
        SELECT r.record_id, r.occurred_at
        FROM core.record_links r
        WHERE r.citizen_id = k.citizen_id AND r.store = :store AND r.status = 'LINKED'
          AND (k.after_at IS NULL OR (r.occurred_at, r.record_id) < (k.after_at, k.after_id))
        ORDER BY r.occurred_at DESC, r.record_id DESC
        LIMIT k.lim
    ) l
    ORDER BY k.ord, l.occurred_at DESC, l.record_id DESC
    """
)


async def linked_record_pages(
    core: AsyncConnection, store: RecordStore, keys: Sequence[PageKey]
) -> list[list[uuid.UUID]]:
    """For each key, up to key.limit of the citizen's linked records in one store, newest
    first: only the index is read, however many records the citizen has."""
    result = await core.execute(
        _PAGES,
        {
            "store": store.value,
            "citizens": [key.citizen_id for key in keys],
            "after_ats": [key.after_at for key in keys],
            "after_ids": [key.after_id for key in keys],
            "limits": [key.limit for key in keys],
        },
    )
    pages: list[list[uuid.UUID]] = [[] for _ in keys]
    for row in result.all():
        pages[row.ord - 1].append(row.record_id)
    return pages


_METHODS = sa.select(_links.c.record_id, _links.c.method).where(
    _links.c.store == sa.bindparam("store"),
    any_of(_links.c.record_id, "record_ids"),
    _links.c.status == LinkStatus.LINKED.value,
)


async def link_methods(
    core: AsyncConnection, store: RecordStore, record_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LinkMethod]:
    """How each linked record was matched to its citizen."""
    rows = await core.execute(_METHODS, {"store": store.value, "record_ids": list(record_ids)})
    return {record_id: LinkMethod(method) for record_id, method in rows.all() if method}
