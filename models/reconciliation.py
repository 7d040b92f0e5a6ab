"""The province operators' reconciliation queue and their decisions on it (core store).

The queue is the records whose link is UNMATCHED (no one, several citizens, or
conflicting identifiers: see models.matching), in the province that typed them.
An operator links a record to a citizen, or dismisses it (it belongs to no one
with an account here). A decision is final for automatic matching (the link's
`decided_by` is set, see models.link); each one is kept, append-only, in
`record_decisions`, and written to the audit log of every citizen it concerns.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.audit import Actor, AuditAction, record
from models.base import CoreTable, any_of, utcnow
from models.citizen import Citizen
from models.link import LinkMethod, LinkStatus, RecordLink, RecordStore, UnmatchedReason
from models.notify import Channel, Notice, publish
from models.testing import Sample
from models.vaccination import VaccinationRecord

# Sites and operators speak in local days.
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")


class Decision(StrEnum):
    LINK = "LINK"
    DISMISS = "DISMISS"


class RecordDecision(CoreTable, table=True):
    """One operator decision on one record; rows are only ever added."""

    __tablename__ = "record_decisions"
    __table_args__ = (sa.Index("ix_record_decisions_record", "store", "record_id", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    store: RecordStore = Field(sa_type=sa.String(16))
    record_id: uuid.UUID
    decision: Decision = Field(sa_type=sa.String(16))
    # No foreign keys: the trail outlives what it describes.
    citizen_id: uuid.UUID | None = None
    previous_citizen_id: uuid.UUID | None = None
    operator_id: str = Field(max_length=64)
    operator_name: str = Field(max_length=100)
    note: str | None = Field(default=None, max_length=500)
    request_id: str = Field(max_length=64)


SECTION_OF: dict[RecordStore, str] = {
    RecordStore.IMMUNIZATION: "vaccinations",
    RecordStore.TESTING: "tests",
}


# ---- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    province_code: str
    reason: UnmatchedReason | None = None
    store: RecordStore | None = None
    # The site's name as typed (case and accents as typed; a part of it is enough).
    site: str | None = None
    # The local days the dose was given or the sample taken, inclusive.
    from_day: date | None = None
    to_day: date | None = None

    @property
    def looks_into_records(self) -> bool:
        return bool(self.site or self.from_day or self.to_day)


@dataclass(frozen=True)
class QueuePosition:
    """Oldest first: after this (queued at, record id)."""

    at: datetime
    record_id: uuid.UUID


_links = RecordLink.__table__


async def queue_page(
    core: AsyncConnection,
    wanted: QueueFilter,
    limit: int,
    after: QueuePosition | None = None,
    only: dict[RecordStore, list[uuid.UUID]] | None = None,
) -> list[sa.Row[Any]]:
    """Up to limit queued links of the province, oldest first; `only` restricts them to
    records found by the site and date filters (see records_matching)."""
    query: sa.Select[Any] = sa.select(
        _links.c.store,
        _links.c.record_id,
        _links.c.reason,
        _links.c.province_code,
        _links.c.matched_at,
    ).where(
        _links.c.status == LinkStatus.UNMATCHED.value,
        _links.c.province_code == wanted.province_code,
    )
    if wanted.reason is not None:
        query = query.where(_links.c.reason == wanted.reason.value)
    if wanted.store is not None:
        query = query.where(_links.c.store == wanted.store.value)
    if only is not None:
        query = query.where(
            sa.or_(
                sa.false(),
                *(
                    sa.and_(_links.c.store == store.value, _links.c.record_id.in_(ids))
                    for store, ids in only.items()
                    if ids
                ),
            )
        )
    if after is not None:
        query = query.where(
            sa.tuple_(_links.c.matched_at, _links.c.record_id) > (after.at, after.record_id)
        )
    query = query.order_by(_links.c.matched_at, _links.c.record_id).limit(limit)
    return list((await core.execute(query)).all())


@dataclass(frozen=True)
class RecordShape:
    """Where a record's site, day and content are, in its store's table."""

    table: sa.Table
    site: str
    when: str
    content: tuple[str, ...]


SHAPES: dict[RecordStore, RecordShape] = {
    RecordStore.IMMUNIZATION: RecordShape(
        VaccinationRecord.__table__, "site_name", "administered_at", ("vaccine_code", "dose_number")
    ),
    RecordStore.TESTING: RecordShape(
        Sample.__table__, "collection_site", "collected_at", ("test_type", "sample_code")
    ),
}


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TIME)


async def records_matching(
    connection: AsyncConnection, store: RecordStore, wanted: QueueFilter
) -> list[uuid.UUID]:
    """IDs of the store's records of the province at that site and in those days."""
    shape = SHAPES[store]
    columns = shape.table.c
    query = sa.select(columns.id).where(columns.province_code == wanted.province_code)
    if wanted.site:
        escaped = wanted.site.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(columns[shape.site].ilike(f"%{escaped}%", escape="\\"))
    if wanted.from_day:
        query = query.where(columns[shape.when] >= _local_day_start(wanted.from_day))
    if wanted.to_day:
        query = query.where(
            columns[shape.when] < _local_day_start(wanted.to_day + timedelta(days=1))
        )
    return list((await connection.execute(query)).scalars())


async def record_details(
    connection: AsyncConnection, store: RecordStore, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, sa.Row[Any]]:
    """What an operator needs to decide: the identity as typed, the site, day and content."""
    shape = SHAPES[store]
    c = shape.table.c
    query: sa.Select[Any] = sa.select(
        c.id,
        c.full_name,
        c.date_of_birth,
        c.national_id,
        c.insurance_number,
        c.phone,
        c.source_system,
        c.source_record_id,
        c[shape.site].label("site"),
        c[shape.when].label("occurred_at"),
        *(c[name] for name in shape.content),
    ).where(any_of(c.id, "ids"))
    rows = (await connection.execute(query, {"ids": list(ids)})).all()
    return {row.id: row for row in rows}


# ---- decisions ---------------------------------------------------------------------------


class DecisionProblem(StrEnum):
    # No record of the operator's province has that ID (another province's looks the same).
    RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
    CITIZEN_NOT_FOUND = "CITIZEN_NOT_FOUND"


@dataclass(frozen=True)
class DecisionOutcome:
    store: RecordStore
    record_id: uuid.UUID
    status: LinkStatus
    citizen_id: uuid.UUID | None
    # False when the same decision had been taken already (a replay changes nothing).
    changed: bool


@dataclass(frozen=True)
class Operator:
    actor: Actor
    province_code: str
    request_id: str

    @property
    def label(self) -> str:
        return f"{self.actor.kind.lower()}:{self.actor.id}"


async def decide(
    core: AsyncConnection,
    operator: Operator,
    store: RecordStore,
    record_id: uuid.UUID,
    decision: Decision,
    citizen_id: uuid.UUID | None = None,
    note: str | None = None,
) -> DecisionOutcome | DecisionProblem:
    """Link the record to the citizen, or dismiss it; run inside the caller's transaction."""
    link = (
        await core.execute(
            sa.select(_links)
            .where(_links.c.store == store.value, _links.c.record_id == record_id)
            .with_for_update()
        )
    ).first()
    if link is None or link.province_code != operator.province_code:
        return DecisionProblem.RECORD_NOT_FOUND
    if decision is Decision.LINK:
        assert citizen_id is not None
        citizens = Citizen.__table__
        exists = await core.execute(sa.select(citizens.c.id).where(citizens.c.id == citizen_id))
        if exists.first() is None:
            return DecisionProblem.CITIZEN_NOT_FOUND
        status = LinkStatus.LINKED
    else:
        citizen_id = None
        status = LinkStatus.DISMISSED
    previous = link.citizen_id if link.status == LinkStatus.LINKED.value else None
    if link.decided_by is not None and link.status == status.value and previous == citizen_id:
        return DecisionOutcome(store, record_id, status, citizen_id, changed=False)
    await core.execute(
        sa.update(_links)
        .where(_links.c.store == store.value, _links.c.record_id == record_id)
        .values(
            status=status.value,
            citizen_id=citizen_id,
            method=LinkMethod.OPERATOR.value if citizen_id else None,
            # Why it was queued stays with a dismissed record.
            reason=None if citizen_id else link.reason,
            decided_by=operator.label,
            matched_at=utcnow(),
        )
    )
    await core.execute(
        sa.insert(RecordDecision.__table__).values(
            id=uuid.uuid4(),
            at=utcnow(),
            store=store.value,
            record_id=record_id,
            decision=decision.value,
            citizen_id=citizen_id,
            previous_citizen_id=previous,
            operator_id=operator.actor.id,
            operator_name=operator.actor.name,
            note=note,
            request_id=operator.request_id[:64],
        )
    )
    await _audit(core, operator, store, citizen_id, previous)
    if store is RecordStore.TESTING and citizen_id is not None and citizen_id != previous:
        await publish(core, Channel.TEST_RESULTS, Notice(citizen_id, record_id))
    return DecisionOutcome(store, record_id, status, citizen_id, changed=True)


async def _audit(
    core: AsyncConnection,
    operator: Operator,
    store: RecordStore,
    citizen_id: uuid.UUID | None,
    previous: uuid.UUID | None,
) -> None:
    sections = [SECTION_OF[store]]
    if citizen_id is not None and citizen_id != previous:
        await record(
            core, operator.actor, AuditAction.LINK, [(citizen_id, sections)], operator.request_id
        )
    if previous is not None and previous != citizen_id:
        await record(
            core, operator.actor, AuditAction.UNLINK, [(previous, sections)], operator.request_id
        )
