"""A citizen's own dashboard read in as few round trips as the stores allow.

Compiled plans (api/plans.py) read here, straight on the asyncpg connection
under each store's pool, with statements asyncpg prepares once per connection.
The core store answers the citizen, their vaccination links, the page of their
test-result links and the page of their check-ins in one statement; then the
immunization and testing stores are read at once. The rows are those the
per-field loaders read, in the same order.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg

from models.link import LinkStatus, RecordStore

Record = asyncpg.Record


@dataclass(frozen=True)
class Page:
    """Up to limit rows after (after_at, after_id), newest first (limit counts one more
    than is shown: it says whether there is a next page)."""

    limit: int
    after_at: datetime | None = None
    after_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Wanted:
    """Which of the citizen's lists a document asks for."""

    doses: bool = False
    tests: Page | None = None
    check_ins: Page | None = None


@dataclass
class CoreAnswer:
    citizen: Record
    dose_ids: list[uuid.UUID] = field(default_factory=list)
    test_ids: list[uuid.UUID] = field(default_factory=list)
    check_ins: list[Record] = field(default_factory=list)


_LINKED = LinkStatus.LINKED.value

_DOSE_IDS = f"""
    ARRAY(SELECT l.record_id FROM core.record_links l
          WHERE l.citizen_id = c.id AND l.store = '{RecordStore.IMMUNIZATION.value}'
            AND l.status = '{_LINKED}') AS dose_ids"""

_TEST_IDS = f"""
    ARRAY(SELECT l.record_id FROM core.record_links l
          WHERE l.citizen_id = c.id AND l.store = '{RecordStore.TESTING.value}'
            AND l.status = '{_LINKED}'
            AND ({{at}}::timestamptz IS NULL
                 OR (l.occurred_at, l.record_id) < ({{at}}::timestamptz, {{id}}::uuid))
          ORDER BY l.occurred_at DESC, l.record_id DESC
          LIMIT {{limit}}::int) AS test_ids"""

_CHECK_IN_COLUMNS = """k.id AS check_in_id, k.checked_in_at, k.method, k.declaration,
    k.venue_code, k.venue_name, k.venue_kind, k.venue_province_code, k.venue_address"""

_CHECK_INS = """
    LEFT JOIN LATERAL (
        SELECT ci.id, ci.checked_in_at, ci.method, ci.declaration,
               v.code AS venue_code, v.name AS venue_name, v.kind AS venue_kind,
               v.province_code AS venue_province_code, v.address AS venue_address
        FROM (SELECT i.id, i.checked_in_at, i.method, i.declaration, i.venue_id
              FROM core.check_ins i
              WHERE i.citizen_id = c.id
                AND ({at}::timestamptz IS NULL
                     OR (i.checked_in_at, i.id) < ({at}::timestamptz, {id}::uuid))
              ORDER BY i.checked_in_at DESC, i.id DESC
              LIMIT {limit}::int) ci
        JOIN core.venues v ON v.id = ci.venue_id
    ) k ON true"""


@cache
def _core_statement(doses: bool, tests: bool, check_ins: bool) -> str:
    """One statement per shape: the citizen, and the lists asked for ($1 is the citizen).
    The link lists are arrays made once for the citizen (OFFSET 0 keeps them from being
    made again for each check-in row)."""
    numbers = iter(range(2, 100))

    def parameters() -> dict[str, str]:
        return {name: f"${next(numbers)}" for name in ("at", "id", "limit")}

    columns = ["c.id", "c.full_name", "c.date_of_birth", "c.phone", "c.province_code"]
    if doses:
        columns.append(_DOSE_IDS)
    if tests:
        columns.append(_TEST_IDS.format(**parameters()))
    citizen = f"SELECT {', '.join(columns)} FROM core.citizens c WHERE c.id = $1"
    if not check_ins:
        return citizen
    return (
        f"SELECT c.*, {_CHECK_IN_COLUMNS} FROM ({citizen} OFFSET 0) c"
        f"{_CHECK_INS.format(**parameters())} ORDER BY k.checked_in_at DESC, k.id DESC"
    )


def _page_arguments(page: Page | None) -> list[Any]:
    return [] if page is None else [page.after_at, page.after_id, page.limit]


async def read_core(
    core: asyncpg.Connection, citizen_id: uuid.UUID, wanted: Wanted
) -> CoreAnswer | None:
    """The citizen and the lists wanted, or None when there is no such citizen."""
    statement = _core_statement(
        wanted.doses, wanted.tests is not None, wanted.check_ins is not None
    )
    arguments = [citizen_id, *_page_arguments(wanted.tests), *_page_arguments(wanted.check_ins)]
    rows = await core.fetch(statement, *arguments)
    if not rows:
        return None
    first = rows[0]
    return CoreAnswer(
        citizen=first,
        dose_ids=list(first["dose_ids"]) if wanted.doses else [],
        test_ids=list(first["test_ids"]) if wanted.tests is not None else [],
        check_ins=[row for row in rows if row["check_in_id"] is not None]
        if wanted.check_ins is not None
        else [],
    )


_DOSES = """
    SELECT r.id, r.dose_number, r.administered_at, r.lot_number, r.site_name, r.province_code,
           v.code AS vaccine_code, v.name AS vaccine_name, v.brand_names AS vaccine_brand_names,
           v.manufacturer AS vaccine_manufacturer,
           v.primary_series_doses AS vaccine_primary_series_doses
    FROM immunization.vaccination_records r
    JOIN immunization.vaccines v ON v.code = r.vaccine_code
    WHERE r.id = ANY($1::uuid[]) AND r.status = 'VALID'
    ORDER BY r.administered_at, r.id
"""

_SAMPLES = """
    SELECT s.id, s.sample_code, s.test_type, s.pooled, s.pool_code, s.collected_at,
           s.collection_site, s.result, s.resulted_at, l.name AS lab_name
    FROM testing.samples s
    LEFT OUTER JOIN testing.labs l ON l.code = s.lab_code
    WHERE s.id = ANY($1::uuid[]) AND s.status = 'VALID'
"""


async def read_doses(immunization: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Record]:
    """Valid doses with their vaccine, oldest first."""
    return list(await immunization.fetch(_DOSES, ids)) if ids else []


async def read_samples(testing: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Record]:
    """Samples with their lab's name, in the order of ids (a missing one is left out)."""
    if not ids:
        return []
    found = {row["id"]: row for row in await testing.fetch(_SAMPLES, ids)}
    return [found[i] for i in ids if i in found]
