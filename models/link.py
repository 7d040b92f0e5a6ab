"""Which citizen each immunization and testing record belongs to (core store).

Records live in stores we do not own; the outcome of identity matching for
each of them is kept here, so that a citizen's records are found by an index
lookup and unmatched ones form the province operators' reconciliation queue.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, any_of, utcnow


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
            "ix_record_links_citizen",
            "citizen_id",
            "store",
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


def link_row(
    store: RecordStore,
    record_id: uuid.UUID,
    province_code: str,
    citizen_id: uuid.UUID | None,
    method: LinkMethod | None,
    reason: UnmatchedReason | None,
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
    }


def upsert_links_statement() -> sa.Insert:
    """Insert or refresh automatic outcomes (execute with the rows as parameters);
    a person's decision is never overwritten."""
    from sqlalchemy.dialects.postgresql import insert

    table = RecordLink.__table__
    statement = insert(table)
    refreshed = {
        name: statement.excluded[name]
        for name in ("citizen_id", "status", "method", "reason", "province_code", "matched_at")
    }
    return statement.on_conflict_do_update(
        index_elements=[table.c.store, table.c.record_id],
        set_=refreshed,
        where=table.c.decided_by.is_(None),
    )


_links = RecordLink.__table__
_LINKED_RECORDS = sa.select(_links.c.citizen_id, _links.c.store, _links.c.record_id).where(
    any_of(_links.c.citizen_id, "citizen_ids"), _links.c.status == LinkStatus.LINKED.value
)
_OWNERS = sa.select(_links.c.record_id, _links.c.citizen_id).where(
    _links.c.store == sa.bindparam("store"),
    any_of(_links.c.record_id, "record_ids"),
    _links.c.status == LinkStatus.LINKED.value,
)


async def linked_record_ids(
    core: AsyncConnection, citizen_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[RecordStore, list[uuid.UUID]]]:
    """Each citizen's linked records, by store."""
    found: dict[uuid.UUID, dict[RecordStore, list[uuid.UUID]]] = {
        citizen_id: {store: [] for store in RecordStore} for citizen_id in citizen_ids
    }
    rows = await core.execute(_LINKED_RECORDS, {"citizen_ids": list(citizen_ids)})
    for citizen_id, store, record_id in rows.all():
        found[citizen_id][RecordStore(store)].append(record_id)
    return found


async def owner_of(
    core: AsyncConnection, store: RecordStore, record_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The citizen each linked record belongs to."""
    rows = await core.execute(_OWNERS, {"store": store.value, "record_ids": list(record_ids)})
    return {record_id: citizen_id for record_id, citizen_id in rows.all()}
