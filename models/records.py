"""The one way a vaccination record or a sample enters its store.

Partners' mutations, `healthgraph import` and the demo generator all call
`write_records` with records that passed `models.record_validation`:

1. In one transaction of the record's store, the batch is copied (COPY) into
   a staging table and upserted by (source system, source record ID). The
   newest version by the source's own `updatedAt` wins: an older one changes
   nothing (STALE), the same one again changes nothing (UNCHANGED), a newer
   one replaces the row (UPDATED, or UNCHANGED when only its version moved).
   Concurrent writers of one record meet on the unique key: one row remains.
2. Then, in one transaction of the core store, the records that changed are
   matched (models.matching) and their links upserted; a person's decision on
   a link is never overwritten. Records that were stored but never linked
   (a write interrupted between the two transactions) are matched when they
   arrive again, so replaying a write or an import repairs it and changes
   nothing else.
3. Citizens signed in with a phone the changed records carry, whose claims one
   of those records confirms, have them verified, and what then matches links
   (models.relinking).
"""

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.audit import Actor, AuditAction, record
from models.base import RecordStatus, any_of, utcnow
from models.health_pass import revoke_outdated_passes
from models.health_status import PassRules
from models.link import OCCURRED_AT_COLUMN, LinkStatus, RecordLink, RecordStore
from models.matching import MatchOutcome, RecordToLink, link_records
from models.notify import Channel, Notice, publish_many
from models.record_validation import Problem, ValidRecord
from models.relinking import confirm_claims_by_arrivals
from models.stores import Engines, Store
from models.testing import Sample
from models.vaccination import VaccinationRecord
from models.verification import CarriedIdentity, records_carrying


class Outcome(StrEnum):
    INSERTED = "INSERTED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    STALE = "STALE"
    REJECTED = "REJECTED"
    VOIDED = "VOIDED"
    NOT_FOUND = "NOT_FOUND"


CHANGED = frozenset((Outcome.INSERTED, Outcome.UPDATED, Outcome.VOIDED))


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: where it is stored and which columns a version carries."""

    store: RecordStore
    table: sa.Table
    # The columns a source sends, besides its keys and version.
    content: tuple[str, ...]
    # What a citizen's audit log calls this part of their data.
    section: str

    @property
    def staging(self) -> str:
        return f"staged_{self.table.name}"

    @property
    def database(self) -> Store:
        return Store(self.store.value)


_PERSON = (
    "national_id",
    "insurance_number",
    "phone",
    "full_name",
    "date_of_birth",
    "province_code",
    "status",
)
VACCINATIONS = RecordKind(
    RecordStore.IMMUNIZATION,
    VaccinationRecord.__table__,
    (
        *_PERSON,
        "vaccine_code",
        "dose_number",
        "administered_at",
        "lot_number",
        "site_name",
    ),
    "vaccinations",
)
SAMPLES = RecordKind(
    RecordStore.TESTING,
    Sample.__table__,
    (
        *_PERSON,
        "sample_code",
        "test_type",
        "pooled",
        "pool_code",
        "collected_at",
        "collection_site",
        "lab_code",
        "result",
        "resulted_at",
    ),
    "tests",
)
_KEYS = ("source_system", "source_record_id")


def _staged_columns(kind: RecordKind) -> tuple[str, ...]:
    return ("item", "id", *_KEYS, "source_updated_at", *kind.content)


@dataclass
class ItemResult:
    outcome: Outcome
    record_id: uuid.UUID | None = None
    problems: list[Problem] = field(default_factory=list)
    # Set when the record was (re)matched by this write.
    match: MatchOutcome | None = None


@dataclass
class WriteSummary:
    counts: Counter[Outcome] = field(default_factory=Counter)
    linked: int = 0
    queued: int = 0

    def add(self, results: Sequence[ItemResult]) -> None:
        for result in results:
            self.counts[result.outcome] += 1
            if result.match is not None:
                if result.match.linked:
                    self.linked += 1
                else:
                    self.queued += 1


@dataclass(frozen=True)
class Writer:
    """Who writes: the source system the records come from, and for the audit, who asked."""

    source_system: str
    actor: Actor | None = None
    request_id: str = ""
    # Bulk writers (import, demo data) lift the statement timeout for their batches.
    bulk: bool = False
    # With the pass rules, a write that changes a citizen's colour revokes their live health
    # pass at once (models/health_pass.py), so scanners stop accepting it.
    pass_rules: PassRules | None = None


def _create_staging(kind: RecordKind) -> str:
    columns = ", ".join(_staged_columns(kind)[1:])
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {kind.staging} ON COMMIT DELETE ROWS AS "
        f"SELECT 0 AS item, {columns} FROM {kind.table.schema}.{kind.table.name} WITH NO DATA"
    )


def _upsert(kind: RecordKind) -> str:
    """One statement: upsert the staged batch, and say what happened to each item."""
    table = f"{kind.table.schema}.{kind.table.name}"
    content = kind.content
    written = ", ".join(("id", *_KEYS, "source_updated_at", *content, "recorded_at"))
    staged = ", ".join(
        ("coalesce(id, gen_random_uuid())", *_KEYS, "source_updated_at", *content, "now()")
    )
    updates = ", ".join(
        f"{column} = excluded.{column}" for column in ("source_updated_at", *content, "recorded_at")
    )
    before_content = ", ".join(f"t.{column}" for column in content)
    staged_content = ", ".join(f"s.{column}" for column in content)
    return f"""
WITH before AS (
    -- Looked up by the unique key, record by record: joining the whole store instead
    -- would read all of it for every batch.
    SELECT b.* FROM {kind.staging} s CROSS JOIN LATERAL (
        SELECT t.id, t.source_system, t.source_record_id, t.source_updated_at,
               ROW({before_content}) IS NOT DISTINCT FROM ROW({staged_content}) AS same
        FROM {table} t
        WHERE t.source_system = s.source_system AND t.source_record_id = s.source_record_id
        LIMIT 1
    ) b
),
written AS (
    INSERT INTO {table} AS t ({written})
    SELECT {staged} FROM {kind.staging}
    ON CONFLICT (source_system, source_record_id) DO UPDATE SET {updates}
    WHERE t.source_updated_at < excluded.source_updated_at
    RETURNING t.id, t.source_system, t.source_record_id, t.xmax = 0 AS inserted
)
SELECT s.item, coalesce(w.id, b.id) AS id,
    CASE
        WHEN w.inserted THEN 'INSERTED'
        WHEN w.id IS NOT NULL AND b.same THEN 'UNCHANGED'
        WHEN w.id IS NOT NULL THEN 'UPDATED'
        WHEN b.source_updated_at > s.source_updated_at THEN 'STALE'
        ELSE 'UNCHANGED'
    END AS outcome
FROM {kind.staging} s
LEFT JOIN written w USING (source_system, source_record_id)
LEFT JOIN before b USING (source_system, source_record_id)
"""


def _newest_per_key(
    records: Sequence[ValidRecord],
) -> tuple[list[int], dict[int, Outcome]]:
    """Which items to stage (one per source record, the newest), and the outcome of the
    others: an older copy in the same batch is STALE, an equal one UNCHANGED."""
    newest: dict[str, int] = {}
    for item, valid in enumerate(records):
        key = valid.values["source_record_id"]
        kept = newest.get(key)
        if kept is None or (
            valid.values["source_updated_at"] > records[kept].values["source_updated_at"]
        ):
            newest[key] = item
    kept_items = set(newest.values())
    others: dict[int, Outcome] = {}
    for item, valid in enumerate(records):
        if item in kept_items:
            continue
        winner = records[newest[valid.values["source_record_id"]]]
        same = valid.values["source_updated_at"] == winner.values["source_updated_at"]
        others[item] = Outcome.UNCHANGED if same else Outcome.STALE
    return sorted(kept_items), others


async def _copy(
    connection: AsyncConnection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table, columns=list(columns), records=rows
    )


async def _store_versions(
    connection: AsyncConnection,
    kind: RecordKind,
    writer: Writer,
    records: Sequence[ValidRecord],
    items: Sequence[int],
) -> dict[int, tuple[uuid.UUID, Outcome]]:
    if writer.bulk:
        await connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
    await connection.execute(sa.text(_create_staging(kind)))
    content = itemgetter(*kind.content)
    source = writer.source_system
    rows = []
    for item in items:
        values = records[item].values
        rows.append(
            (
                item,
                # A generator that needs stable IDs (the demo data) gives its own; the
                # store draws the others.
                values.get("id"),
                source,
                values["source_record_id"],
                values["source_updated_at"],
                *content(values),
            )
        )
    await _copy(connection, kind.staging, _staged_columns(kind), rows)
    # Planner statistics for the batch: without them it guesses a handful of rows and joins
    # the staged batch to the upsert's results by nested loops.
    await connection.execute(sa.text(f"ANALYZE {kind.staging}"))
    found = (await connection.execute(sa.text(_upsert(kind)))).all()
    stored = {item: (record_id, Outcome(outcome)) for item, record_id, outcome in found}
    missing = [item for item, (record_id, _) in stored.items() if record_id is None]
    if missing:
        # Inserted by a concurrent writer after this statement's snapshot was taken.
        ids = await _ids_by_source_record(
            connection,
            kind,
            writer.source_system,
            [records[i].values["source_record_id"] for i in missing],
        )
        for item in missing:
            stored[item] = (ids[records[item].values["source_record_id"]], Outcome.UNCHANGED)
    return stored


async def _ids_by_source_record(
    connection: AsyncConnection, kind: RecordKind, source_system: str, source_record_ids: list[str]
) -> dict[str, uuid.UUID]:
    table = kind.table
    query = sa.select(table.c.source_record_id, table.c.id).where(
        table.c.source_system == source_system,
        table.c.source_record_id.in_(source_record_ids),
    )
    return {
        source_id: record_id for source_id, record_id in (await connection.execute(query)).all()
    }


async def _unlinked(
    core: AsyncConnection, store: RecordStore, record_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    if not record_ids:
        return set()
    links = RecordLink.__table__
    query = sa.select(links.c.record_id).where(
        links.c.store == store.value, any_of(links.c.record_id, "ids")
    )
    return set(record_ids) - set((await core.execute(query, {"ids": list(record_ids)})).scalars())


async def publish_linked_test_results(
    core: AsyncConnection, linked: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    """(citizen, sample) pairs whose result was just written and linked, published inside the
    core transaction that stores the links: subscribers hear of it once it commits."""
    await publish_many(core, Channel.TEST_RESULTS, [Notice(c, r) for c, r in linked])


async def _audit_writes(
    core: AsyncConnection, kind: RecordKind, writer: Writer, citizens: Sequence[uuid.UUID]
) -> None:
    if writer.actor is None or not citizens:
        return
    entries = [(citizen_id, [kind.section]) for citizen_id in sorted(set(citizens))]
    await record(core, writer.actor, AuditAction.WRITE, entries, writer.request_id)


async def _match(
    core: AsyncConnection,
    kind: RecordKind,
    writer: Writer,
    to_link: Mapping[int, RecordToLink],
    results: list[ItemResult],
) -> set[uuid.UUID]:
    """Match the changed records; the citizens who now own them."""
    items = list(to_link)
    outcomes = await link_records(core, kind.store, [to_link[i] for i in items])
    for item, outcome in zip(items, outcomes, strict=True):
        results[item].match = outcome
    owners = await _owners_after_matching(core, kind.store, results)
    await _audit_writes(core, kind, writer, list(owners.values()))
    if kind.store is RecordStore.TESTING:
        await publish_linked_test_results(core, sorted((c, r) for r, c in owners.items()))
    return set(owners.values())


async def _owners_after_matching(
    core: AsyncConnection, store: RecordStore, results: Sequence[ItemResult]
) -> dict[uuid.UUID, uuid.UUID]:
    """The citizen each record this write changed now belongs to: the one it was just matched
    to, unless a person decided its link (then the link stays as they decided)."""
    changed = [r for r in results if r.outcome in CHANGED and r.record_id is not None]
    owners = {
        r.record_id: r.match.citizen_id
        for r in changed
        if r.record_id is not None and r.match is not None and r.match.citizen_id is not None
    }
    if not changed:
        return owners
    links = RecordLink.__table__
    decided = sa.select(links.c.record_id, links.c.citizen_id, links.c.status).where(
        links.c.store == store.value,
        any_of(links.c.record_id, "ids"),
        links.c.decided_by.is_not(None),
    )
    for record_id, citizen_id, status in await core.execute(
        decided, {"ids": [r.record_id for r in changed]}
    ):
        owners.pop(record_id, None)
        if status == LinkStatus.LINKED.value and citizen_id is not None:
            owners[record_id] = citizen_id
    return owners  # type: ignore[return-value]


async def _owners(
    core: AsyncConnection, store: RecordStore, record_ids: Sequence[uuid.UUID | None]
) -> dict[uuid.UUID, uuid.UUID]:
    """The citizen each record is linked to now (automatically or by an operator)."""
    ids = [r for r in record_ids if r is not None]
    if not ids:
        return {}
    links = RecordLink.__table__
    query = sa.select(links.c.record_id, links.c.citizen_id).where(
        links.c.store == store.value,
        any_of(links.c.record_id, "ids"),
        links.c.status == LinkStatus.LINKED.value,
    )
    rows = await core.execute(query, {"ids": ids})
    return {record_id: citizen_id for record_id, citizen_id in rows.all()}


async def write_records(
    engines: Engines,
    kind: RecordKind,
    writer: Writer,
    records: Sequence[ValidRecord],
) -> list[ItemResult]:
    """Store a batch of valid records of one kind, then match what changed; one result per
    record, in order."""
    results = [ItemResult(Outcome.UNCHANGED) for _ in records]
    if not records:
        return results
    items, duplicates = _newest_per_key(records)
    async with engines[kind.database].connect() as connection, connection.begin():
        stored = await _store_versions(connection, kind, writer, records, items)
    for item, (record_id, outcome) in stored.items():
        results[item] = ItemResult(outcome, record_id)
    for item, outcome in duplicates.items():
        key = records[item].values["source_record_id"]
        winner = next(i for i in items if records[i].values["source_record_id"] == key)
        results[item] = ItemResult(outcome, stored[winner][0])
    to_link = {
        item: _to_link(kind, results[item].record_id, records[item])  # type: ignore[arg-type]
        for item in items
        if results[item].outcome in (Outcome.INSERTED, Outcome.UPDATED)
    }
    async with engines[Store.CORE].connect() as core, core.begin():
        if writer.bulk:
            await core.execute(sa.text("SET LOCAL statement_timeout = 0"))
        await _repair_links(engines, core, kind, results, items, to_link)
        owners = await _match(core, kind, writer, to_link, results)
    await _recheck_passes(engines, writer, owners)
    arrived = [
        CarriedIdentity(
            kind.store,
            link.record_id,
            link.province_code,
            records[item].values["full_name"],
            link.identity,
            link.occurred_at,
        )
        for item, link in to_link.items()
    ]
    await confirm_claims_by_arrivals(engines, arrived)
    return results


async def _recheck_passes(engines: Engines, writer: Writer, citizens: set[uuid.UUID]) -> None:
    """After the write committed: passes whose colour it changed stop verifying."""
    if writer.pass_rules is None or not citizens:
        return
    await revoke_outdated_passes(engines, sorted(citizens), writer.pass_rules, utcnow())


def _to_link(kind: RecordKind, record_id: uuid.UUID, record: ValidRecord) -> RecordToLink:
    occurred_at = record.values[OCCURRED_AT_COLUMN[kind.store]]
    return RecordToLink(record_id, record.province_code, record.identity, occurred_at)


async def _repair_links(
    engines: Engines,
    core: AsyncConnection,
    kind: RecordKind,
    results: list[ItemResult],
    items: Sequence[int],
    to_link: dict[int, RecordToLink],
) -> None:
    """Records that arrived before but were never matched (the earlier write stopped between
    its two transactions) are matched now, as they are stored."""
    unchanged = {
        results[item].record_id: item
        for item in items
        if item not in to_link and results[item].record_id is not None
    }
    missing = await _unlinked(core, kind.store, list(unchanged))  # type: ignore[arg-type]
    if not missing:
        return
    async with engines[kind.database].connect() as connection:
        carried = await records_carrying(connection, kind.store, record_ids=sorted(missing))
    for found in carried:
        to_link[unchanged[found.record_id]] = found.to_link()


@dataclass(frozen=True)
class VoidRequest:
    source_record_id: str
    updated_at: datetime | None = None


async def void_record(
    engines: Engines,
    kind: RecordKind,
    writer: Writer,
    request: VoidRequest,
) -> ItemResult:
    """Mark a record entered in error (it leaves the citizen's view), as a version of it:
    a void older than the stored version is STALE."""
    table = kind.table
    at = request.updated_at or utcnow()
    async with engines[kind.database].connect() as connection, connection.begin():
        current = (
            await connection.execute(
                sa.select(table.c.id, table.c.status, table.c.source_updated_at)
                .where(
                    table.c.source_system == writer.source_system,
                    table.c.source_record_id == request.source_record_id,
                )
                .with_for_update()
            )
        ).first()
        if current is None:
            return ItemResult(Outcome.NOT_FOUND)
        if current.source_updated_at > at:
            return ItemResult(Outcome.STALE, current.id)
        if current.status == RecordStatus.ENTERED_IN_ERROR.value:
            return ItemResult(Outcome.UNCHANGED, current.id)
        await connection.execute(
            sa.update(table)
            .where(table.c.id == current.id)
            .values(
                status=RecordStatus.ENTERED_IN_ERROR.value,
                source_updated_at=at,
                recorded_at=utcnow(),
            )
        )
    async with engines[Store.CORE].begin() as core:
        owners = await _owners(core, kind.store, [current.id])
        await _audit_writes(core, kind, writer, list(owners.values()))
    await _recheck_passes(engines, writer, set(owners.values()))
    return ItemResult(Outcome.VOIDED, current.id)
