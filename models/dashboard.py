"""A citizen's own dashboard read in as few round trips as the stores allow.

Compiled plans (api/plans.py) read here, on a plain asyncpg pool per database
(Engines.pool), with statements asyncpg prepares once per connection. The core
store answers the citizen, their vaccination links, the page of their test-result
links and the page of their check-ins in one statement. A record store in the same
database as the core store is read in that statement too (its rows as arrays); one
elsewhere is read in its own statement, both at once, after it. The rows are those
the per-field loaders read, in the same order. A request whose rate count must be
written before it is decided (models/ratelimit.py) is counted by the core statement
itself: one round trip for both.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
from asyncpg import Record

from models.link import LinkStatus, RecordStore
from models.ratelimit import ToWrite, add_hits_statement

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """Up to limit rows after (after_at, after_id), newest first (limit counts one more
    than is shown: it says whether there is a next page)."""

    limit: int
    after_at: datetime | None = None
    after_id: uuid.UUID | None = None

    @property
    def shape(self) -> tuple[int, bool]:
        return self.limit, self.after_at is not None


@dataclass(frozen=True)
class Wanted:
    """Which of the citizen's lists a document asks for."""

    doses: bool = False
    tests: Page | None = None
    check_ins: Page | None = None
    # The columns of each list the document needs (see *_VALUES below); all by default.
    dose_columns: frozenset[str] | None = None
    sample_columns: frozenset[str] | None = None
    check_in_columns: frozenset[str] | None = None


@dataclass
class CoreAnswer:
    citizen: Record
    dose_ids: list[uuid.UUID] = field(default_factory=list)
    test_ids: list[uuid.UUID] = field(default_factory=list)
    check_ins: list[Row] = field(default_factory=list)
    # The record stores' rows, when read in the core statement (same database).
    doses: list[Row] | None = None
    samples: list[Row] | None = None


_LINKED = LinkStatus.LINKED.value
_IMMUNIZATION = RecordStore.IMMUNIZATION.value
_TESTING = RecordStore.TESTING.value

# Each list's columns (the names its rows carry) and how the statements read them.
DOSE_VALUES = {
    "id": "r.id",
    "dose_number": "r.dose_number",
    "administered_at": "r.administered_at",
    "lot_number": "r.lot_number",
    "site_name": "r.site_name",
    "province_code": "r.province_code",
    "vaccine_code": "v.code",
    "vaccine_name": "v.name",
    "vaccine_brand_names": "v.brand_names",
    "vaccine_manufacturer": "v.manufacturer",
    "vaccine_primary_series_doses": "v.primary_series_doses",
}
DOSE_COLUMNS = tuple(DOSE_VALUES)
# What a plan needs whatever the document asks: one dose per day and vaccine
# (models.vaccination.same_dose), the series.
DOSE_ALWAYS = frozenset(
    {"id", "dose_number", "administered_at", "vaccine_code", "vaccine_primary_series_doses"}
)
_VACCINE = "JOIN immunization.vaccines v ON v.code = r.vaccine_code"

# A pooled sample still pending takes its tube's result: the newest one recorded on any
# sample of the tube (models.testing.pool_results).
SAMPLE_VALUES = {
    "id": "s.id",
    "sample_code": "s.sample_code",
    "test_type": "s.test_type",
    "pooled": "s.pooled",
    "pool_code": "s.pool_code",
    "collected_at": "s.collected_at",
    "collection_site": "s.collection_site",
    "result": "coalesce(p.result, s.result)",
    "resulted_at": "CASE WHEN p.result IS NULL THEN s.resulted_at ELSE p.resulted_at END",
    "lab_name": "lb.name",
}
SAMPLE_COLUMNS = tuple(SAMPLE_VALUES)
# The cursor, and what the result and a retest follow from.
SAMPLE_ALWAYS = frozenset({"id", "collected_at", "pooled", "result"})
_LAB = """
    LEFT OUTER JOIN testing.labs lb ON lb.code = s.lab_code"""
_TUBE = """
    LEFT JOIN LATERAL (
        SELECT t.result, t.resulted_at FROM testing.samples t
        WHERE s.pooled AND s.result = 'PENDING' AND t.pool_code = s.pool_code
          AND t.result <> 'PENDING'
        ORDER BY t.resulted_at DESC NULLS LAST LIMIT 1) p ON true"""


def _sample_joins(columns: tuple[str, ...]) -> str:
    # A lab is found by its primary key: joined or not, the same samples.
    return (_LAB if "lab_name" in columns else "") + _TUBE


class _Numbers:
    """Statement parameters after $1 (the citizen)."""

    def __init__(self) -> None:
        self.next = 2

    def take(self) -> str:
        taken, self.next = f"${self.next}", self.next + 1
        return taken


def _after(columns: str, numbers: _Numbers, after: bool) -> str:
    if not after:
        return ""
    return f" AND ({columns}) < ({numbers.take()}::timestamptz, {numbers.take()}::uuid)"


def _dose_ids() -> str:
    return f"""ARRAY(SELECT l.record_id FROM core.record_links l
        WHERE l.citizen_id = c.id AND l.store = '{_IMMUNIZATION}' AND l.status = '{_LINKED}'
        ) AS dose_ids"""


def _doses_here(columns: tuple[str, ...]) -> str:
    return f"""ARRAY(SELECT ROW({_values(DOSE_VALUES, columns)}) FROM core.record_links l
        JOIN immunization.vaccination_records r ON r.id = l.record_id {_VACCINE}
        WHERE l.citizen_id = c.id AND l.store = '{_IMMUNIZATION}' AND l.status = '{_LINKED}'
          AND r.status = 'VALID'
        ORDER BY r.administered_at, r.id) AS doses"""


def _test_links(limit: int, after: bool, numbers: _Numbers) -> str:
    return f"""SELECT l.record_id, l.occurred_at FROM core.record_links l
        WHERE l.citizen_id = c.id AND l.store = '{_TESTING}' AND l.status = '{_LINKED}'
          {_after("l.occurred_at, l.record_id", numbers, after)}
        ORDER BY l.occurred_at DESC, l.record_id DESC LIMIT {limit:d}"""


def _test_ids(limit: int, after: bool, numbers: _Numbers) -> str:
    return f"ARRAY(SELECT k.record_id FROM ({_test_links(limit, after, numbers)}) k) AS test_ids"


def _samples_here(limit: int, after: bool, numbers: _Numbers, columns: tuple[str, ...]) -> str:
    return f"""ARRAY(SELECT ROW({_values(SAMPLE_VALUES, columns)})
        FROM ({_test_links(limit, after, numbers)}) k
        JOIN testing.samples s ON s.id = k.record_id AND s.status = 'VALID'{_sample_joins(columns)}
        ORDER BY k.occurred_at DESC, k.record_id DESC) AS samples"""


CHECK_IN_VALUES = {
    "check_in_id": "i.id",
    "checked_in_at": "i.checked_in_at",
    "method": "i.method",
    "declaration": "i.declaration",
    "venue_code": "v.code",
    "venue_name": "v.name",
    "venue_kind": "v.kind",
    "venue_province_code": "v.province_code",
    "venue_address": "v.address",
    "venue_district": "v.district",
    "venue_closed_at": "v.closed_at",
}
CHECK_IN_COLUMNS = tuple(CHECK_IN_VALUES)
CHECK_IN_ALWAYS = frozenset({"check_in_id", "checked_in_at"})


def _values(values: dict[str, str], columns: tuple[str, ...]) -> str:
    return ", ".join(values[column] for column in columns)


def _check_ins(limit: int, after: bool, numbers: _Numbers, columns: tuple[str, ...]) -> str:
    # The venue is joined whatever is asked of it: a check-in is listed with its venue.
    return f"""ARRAY(SELECT ROW({_values(CHECK_IN_VALUES, columns)})
        FROM (SELECT i.id, i.checked_in_at, i.method, i.declaration, i.venue_id
              FROM core.check_ins i
              WHERE i.citizen_id = c.id {_after("i.checked_in_at, i.id", numbers, after)}
              ORDER BY i.checked_in_at DESC, i.id DESC
              LIMIT {limit:d}) i
        JOIN core.venues v ON v.id = i.venue_id
        ORDER BY i.checked_in_at DESC, i.id DESC) AS check_ins"""


@dataclass(frozen=True)
class Shape:
    """What decides a core statement's text: the lists, their pages' sizes and whether
    they start after a cursor, and which record stores it reads itself."""

    doses: bool
    tests: tuple[int, bool] | None
    check_ins: tuple[int, bool] | None
    doses_here: bool
    samples_here: bool
    # In the order of *_VALUES; those of a store read apart are all of them.
    dose_columns: tuple[str, ...] = DOSE_COLUMNS
    sample_columns: tuple[str, ...] = SAMPLE_COLUMNS
    check_in_columns: tuple[str, ...] = CHECK_IN_COLUMNS


def _in_order(columns: tuple[str, ...], wanted: frozenset[str] | None) -> tuple[str, ...]:
    return columns if wanted is None else tuple(c for c in columns if c in wanted)


def shape_of(wanted: Wanted, doses_here: bool, samples_here: bool) -> Shape:
    doses_here = doses_here and wanted.doses
    samples_here = samples_here and wanted.tests is not None
    return Shape(
        doses=wanted.doses,
        tests=wanted.tests.shape if wanted.tests else None,
        check_ins=wanted.check_ins.shape if wanted.check_ins else None,
        doses_here=doses_here,
        samples_here=samples_here,
        dose_columns=_in_order(DOSE_COLUMNS, wanted.dose_columns if doses_here else None),
        sample_columns=_in_order(SAMPLE_COLUMNS, wanted.sample_columns if samples_here else None),
        check_in_columns=_in_order(CHECK_IN_COLUMNS, wanted.check_in_columns),
    )


@cache
def core_statement(shape: Shape, counting: bool = False) -> str:
    """One statement per shape, answering one row ($1 is the citizen, then each cursor's
    time and ID). counting: the statement also adds a request's hits (the three
    parameters of `ToWrite.arguments` follow), and answers them in `counted` whether
    or not the citizen is found (then every other column is null)."""
    numbers = _Numbers()
    columns = ["c.id", "c.full_name", "c.date_of_birth", "c.phone", "c.province_code"]
    if shape.doses:
        columns.append(_doses_here(shape.dose_columns) if shape.doses_here else _dose_ids())
    if shape.tests:
        limit, after = shape.tests
        if shape.samples_here:
            columns.append(_samples_here(limit, after, numbers, shape.sample_columns))
        else:
            columns.append(_test_ids(limit, after, numbers))
    if shape.check_ins:
        limit, after = shape.check_ins
        columns.append(_check_ins(limit, after, numbers, shape.check_in_columns))
    if not counting:
        return f"SELECT {', '.join(columns)} FROM core.citizens c WHERE c.id = $1"
    add = add_hits_statement(numbers.take(), numbers.take(), numbers.take())
    return f"""WITH counted AS ({add})
        SELECT ARRAY(SELECT ROW(key, hits, window_start, now) FROM counted) AS counted,
            {", ".join(columns)}
        FROM (VALUES (1)) AS one (x) LEFT JOIN core.citizens c ON c.id = $1"""


def _page_arguments(page: Page | None) -> list[Any]:
    if page is None or page.after_at is None:
        return []
    return [page.after_at, page.after_id]


def _rows(values: Sequence[tuple[Any, ...]], columns: tuple[str, ...]) -> list[Row]:
    return [dict(zip(columns, value, strict=True)) for value in values]


async def read_core(
    core: asyncpg.Connection,
    citizen_id: uuid.UUID,
    wanted: Wanted,
    shape: Shape,
    count: ToWrite | None = None,
) -> tuple[CoreAnswer | None, list[Record] | None]:
    """The citizen and the lists wanted (None when there is no such citizen) and, when
    count is given, the rows its write returned (see `RequestCounts.written`)."""
    arguments = [citizen_id, *_page_arguments(wanted.tests), *_page_arguments(wanted.check_ins)]
    if count is not None:
        arguments += count.arguments()
    first = await core.fetchrow(core_statement(shape, count is not None), *arguments)
    counted = None if count is None else list(first["counted"])
    if first is None or first["id"] is None:
        return None, counted
    answer = CoreAnswer(
        citizen=first,
        check_ins=_rows(first["check_ins"], shape.check_in_columns) if shape.check_ins else [],
    )
    if shape.doses_here:
        answer.doses = _rows(first["doses"], shape.dose_columns)
    elif shape.doses:
        answer.dose_ids = list(first["dose_ids"])
    if shape.samples_here:
        answer.samples = _rows(first["samples"], shape.sample_columns)
    elif shape.tests:
        answer.test_ids = list(first["test_ids"])
    return answer, counted


_DOSES = f"""
    SELECT {_values(DOSE_VALUES, DOSE_COLUMNS)} FROM immunization.vaccination_records r {_VACCINE}
    WHERE r.id = ANY($1::uuid[]) AND r.status = 'VALID'
    ORDER BY r.administered_at, r.id
"""

_SAMPLES = f"""
    SELECT {_values(SAMPLE_VALUES, SAMPLE_COLUMNS)}
    FROM testing.samples s{_sample_joins(SAMPLE_COLUMNS)}
    WHERE s.id = ANY($1::uuid[]) AND s.status = 'VALID'
"""


async def read_doses(immunization: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Row]:
    """Valid doses with their vaccine, oldest first."""
    return _rows(await immunization.fetch(_DOSES, ids), DOSE_COLUMNS) if ids else []


async def read_samples(testing: asyncpg.Connection, ids: list[uuid.UUID]) -> list[Row]:
    """Samples with their lab's name, in the order of ids (a missing one is left out)."""
    if not ids:
        return []
    found = {row["id"]: row for row in _rows(await testing.fetch(_SAMPLES, ids), SAMPLE_COLUMNS)}
    return [found[i] for i in ids if i in found]
