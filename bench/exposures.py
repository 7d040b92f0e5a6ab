"""The exposure (zoning) query on 10 million check-ins, beside hand-written SQL.

    .venv/bin/python -m bench.exposures                  # 10M check-ins, 40 runs each
    .venv/bin/python -m bench.exposures --check-ins 1000000 --runs 10   # a quick look

Creates the database `healthgraph_bench_exposures` on 127.0.0.1:5432, migrates
it, fills it with generate_series (venues, citizens, check-ins over 8 weeks, a
case with 50 check-ins over 14 days), then measures, interleaved in one run:

- ours: `models.exposure.exposure_rows`, the query the `exposures` resolver
  runs, through the service's own engine (SQLAlchemy on asyncpg);
- hand-written: the same question as one SQL statement a person would write
  for psql, prepared once and run on a bare asyncpg connection;
- request: the whole `exposures` GraphQL request in-process (partner token
  lookup, the query, the audit rows it writes, the answer's JSON).

It prints medians, spreads, ratios, the machine's load, and the plan of our
query (EXPLAIN ANALYZE, BUFFERS), then drops the database (`--keep` keeps it).
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import psycopg
import sqlalchemy as sa
from strawberry import relay

from models.config import Settings
from models.exposure import _EXPOSURES, TRIP_SPAN, ExposureQuery, exposure_rows
from models.migration import migrate
from models.stores import Engines, Store, StoreUrls

HOST = "127.0.0.1:5432"
DATABASE = "healthgraph_bench_exposures"
ADMIN_URL = f"postgresql://postgres@{HOST}/postgres"
URL = f"postgresql://postgres@{HOST}/{DATABASE}"
CASE_ID = uuid.UUID("0000f0f0-0000-4000-8000-000000000000")
PROVINCE = "24"
DAYS = 56
# Every 50th venue is a worker bus; its check-ins carry a trip (morning or afternoon run).
BUS_EVERY = 50

# IDs made from numbers: far cheaper to generate than random or hashed ones.
_VENUE_ID = "('00000000-0000-4000-9000-' || lpad(to_hex(n), 12, '0'))::uuid"
_CITIZEN_ID = "('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid"


def _venue_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-9000-{number:012x}")


_SETUP = """
SET session_replication_role = replica;  -- bulk load: no foreign-key trigger per row
SELECT setseed(0.2021);
INSERT INTO core.venues (id, code, name, kind, province_code, address, created_at)
SELECT {venue_id}, 'BG-' || lpad(n::text, 6, '0'), 'Venue ' || n,
       CASE WHEN n % {bus_every} = 0 THEN 'WORKER_BUS'
            ELSE (ARRAY['OFFICE','RESTAURANT','GROCERY','MARKET','HOTEL',
                        'LYCHEE_WEIGHING_STATION'])[1 + n % 6] END,
       '{province}', NULL, now()
FROM generate_series(1, {venues}) n;
INSERT INTO core.citizens (id, full_name, date_of_birth, phone, province_code, created_at)
SELECT {citizen_id}, 'Citizen ' || n, NULL, '09' || lpad(n::text, 8, '0'),
       '{province}', now()
FROM generate_series(1, {citizens}) n;
INSERT INTO core.citizens (id, full_name, date_of_birth, phone, province_code, created_at)
VALUES ('{case_id}', 'The Case', NULL, '0899999999', '{province}', now());
"""

# Popular venues are much busier: venue numbers are drawn as venues * random()^2.
_CHECK_INS = """
SET session_replication_role = replica;
SELECT setseed({seed});
INSERT INTO core.check_ins (id, checked_in_at, citizen_id, venue_id, method, declaration,
                            insurance_number, trip_id, operator_id, created_at)
SELECT ('00000000-0000-4000-a000-' || lpad(to_hex({first} + g.n), 12, '0'))::uuid, g.t,
       CASE WHEN g.unlinked THEN NULL
            ELSE ('00000000-0000-4000-8000-' || lpad(to_hex(g.c), 12, '0'))::uuid END,
       ('00000000-0000-4000-9000-' || lpad(to_hex(g.v), 12, '0'))::uuid,
       CASE WHEN g.unlinked THEN 'STAFF_SCAN_INSURANCE' ELSE 'APP_SCAN' END,
       NULL,
       CASE WHEN g.unlinked THEN 'GD4' || '{province}' || lpad(g.c::text, 10, '0') END,
       CASE WHEN g.v % {bus_every} = 0 THEN
            to_char(g.t, 'YYYY-MM-DD') || CASE WHEN extract(hour FROM g.t) < 12
                                               THEN '-sang' ELSE '-chieu' END END,
       NULL, g.t
FROM (
    SELECT n, timestamptz '{start}' + random() * interval '{days} days' AS t,
           1 + floor({venues} * random() ^ 2)::int AS v,
           1 + floor({citizens} * random())::int AS c,
           random() < 0.01 AS unlinked
    FROM generate_series(1, {count}) n
) g;
"""

# The same question by hand: each case check-in with the check-ins of the same trip and
# those within the window (of no trip on either side), as two plain joins.
HAND_WRITTEN = """
WITH visits AS (
    SELECT id, venue_id, checked_in_at, trip_id, citizen_id
    FROM core.check_ins
    WHERE citizen_id = $1 AND checked_in_at BETWEEN $2 AND $3
), contacts AS (
    SELECT v.id AS visit_id, o.id, o.citizen_id, o.checked_in_at, o.method,
           o.insurance_number, true AS same_trip
    FROM visits v
    JOIN core.check_ins o
      ON o.venue_id = v.venue_id AND o.trip_id = v.trip_id
     AND o.checked_in_at BETWEEN v.checked_in_at - $5::interval AND v.checked_in_at + $5::interval
     AND o.citizen_id IS DISTINCT FROM v.citizen_id
    UNION ALL
    SELECT v.id, o.id, o.citizen_id, o.checked_in_at, o.method, o.insurance_number, false
    FROM visits v
    JOIN core.check_ins o
      ON o.venue_id = v.venue_id
     AND o.checked_in_at BETWEEN v.checked_in_at - $4::interval AND v.checked_in_at + $4::interval
     AND (v.trip_id IS NULL OR o.trip_id IS NULL)
     AND o.citizen_id IS DISTINCT FROM v.citizen_id
)
SELECT v.id AS visit_id, v.checked_in_at AS visit_at, ve.code, ve.name,
       o.id AS contact_id, o.citizen_id, o.checked_in_at, o.method, o.insurance_number,
       o.same_trip, c.full_name, c.phone
FROM visits v
JOIN core.venues ve ON ve.id = v.venue_id
LEFT JOIN contacts o ON o.visit_id = v.id
LEFT JOIN core.citizens c ON c.id = o.citizen_id
ORDER BY v.checked_in_at, v.id, o.checked_in_at, o.id
"""

EXPOSURES_REQUEST = """
query($case: ID!, $from: DateTime!, $to: DateTime!) {
  exposures(caseCitizenId: $case, from: $from, to: $to, overlapMinutes: 60) {
    venue { code name } caseCheckedInAt tripId
    contacts { citizenId fullName phoneMasked phone insuranceNumber checkedInAt sameTrip }
  }
}
"""


@dataclass(frozen=True)
class Scale:
    check_ins: int
    venues: int
    citizens: int
    case_visits: int = 50
    case_days: int = 14


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def _step(label: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    print(f"  {label} …", end="", flush=True)
    action()
    print(f" {time.perf_counter() - started:.1f} s", flush=True)


def _run_sql(script: str) -> None:
    with psycopg.connect(URL, autocommit=True) as connection:
        connection.execute(script)  # type: ignore[arg-type]


def _case_visits(scale: Scale, end: datetime) -> list[tuple[datetime, int, str | None]]:
    """The case's check-ins: daytime, across the last case_days days, at venues drawn
    like everyone's (so some are busy), a few of them bus trips."""
    import random

    rng = random.Random(2021)
    start = end - timedelta(days=scale.case_days)
    visits = []
    for n in range(scale.case_visits):
        day = start + timedelta(days=n * scale.case_days // scale.case_visits)
        at = day.replace(hour=7 + rng.randrange(12), minute=rng.randrange(60))
        venue = 1 + int(scale.venues * rng.random() ** 2)
        if n % 10 == 0:
            venue = BUS_EVERY * (1 + rng.randrange(scale.venues // BUS_EVERY))
        trip = None
        if venue % BUS_EVERY == 0:
            trip = f"{at:%Y-%m-%d}-{'sang' if at.hour < 12 else 'chieu'}"
        visits.append((at, venue, trip))
    return visits


@dataclass(frozen=True)
class IndexScripts:
    drop: str
    create: str


def _check_in_indexes() -> IndexScripts:
    """The migrated indexes of core.check_ins, to drop before the bulk load and build
    again, exactly as they were, after it (building an index once is far quicker than
    keeping it up to date row by row)."""
    with psycopg.connect(URL, autocommit=True) as connection:
        primary = connection.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'core.check_ins'::regclass AND contype = 'p'"
        ).fetchone()
        others = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'core' "
            "AND tablename = 'check_ins' AND indexname <> %s",
            (primary[0] if primary else "",),
        ).fetchall()
    assert primary is not None
    drop = [f"ALTER TABLE core.check_ins DROP CONSTRAINT {primary[0]};"]
    drop += [f"DROP INDEX core.{name};" for name, _ in others]
    create = ["SET maintenance_work_mem = '256MB';"]
    create += [f"ALTER TABLE core.check_ins ADD CONSTRAINT {primary[0]} {primary[1]};"]
    # The definition of an index on a partitioned table reads `ON ONLY` (the parent alone).
    create += [f"{definition.replace(' ON ONLY ', ' ON ')};" for _, definition in others]
    return IndexScripts("\n".join(drop), "\n".join(create))


def _literal(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


def build(scale: Scale, end: datetime) -> None:
    start = end - timedelta(days=DAYS)
    _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{DATABASE}"')
    _step("migrate", lambda: migrate(StoreUrls(URL, URL, URL)))
    values = {
        "bus_every": BUS_EVERY,
        "province": PROVINCE,
        "venues": scale.venues,
        "citizens": scale.citizens,
        "case_id": CASE_ID,
        "start": start.isoformat(),
        "days": DAYS,
        "venue_id": _VENUE_ID,
        "citizen_id": _CITIZEN_ID,
    }
    _step(
        f"{scale.venues:,} venues, {scale.citizens:,} citizens",
        lambda: _run_sql(_SETUP.format(**values)),
    )
    indexes = _check_in_indexes()
    _step("drop the check-in indexes for the load", lambda: _run_sql(indexes.drop))
    chunk = 2_000_000
    for first in range(0, scale.check_ins, chunk):
        count = min(chunk, scale.check_ins - first)
        seed = 0.5 + first / scale.check_ins / 4
        script = _CHECK_INS.format(**values, seed=seed, first=first, count=count)
        _step(f"check-ins {first + count:,}", lambda script=script: _run_sql(script))
    _step("build the check-in indexes again", lambda: _run_sql(indexes.create))
    rows = [
        f"(gen_random_uuid(), '{at.isoformat()}', '{CASE_ID}', '{_venue_id(venue)}', "
        f"'APP_SCAN', {_literal(trip)}, now())"
        for at, venue, trip in _case_visits(scale, end)
    ]
    case_sql = (
        "INSERT INTO core.check_ins (id, checked_in_at, citizen_id, venue_id, method, trip_id, "
        "created_at) VALUES " + ", ".join(rows)
    )
    _step(f"the case's {scale.case_visits} check-ins", lambda: _run_sql(case_sql))
    _step(
        "vacuum analyze",
        lambda: _run_sql("VACUUM ANALYZE core.check_ins, core.citizens, core.venues"),
    )


def _hand_params(query: ExposureQuery) -> tuple[Any, ...]:
    return (query.case_id, query.start, query.end, query.overlap, TRIP_SPAN)


async def _partner_token(engines: Engines) -> str:
    from auth import partners
    from auth.scopes import Scope

    async with engines[Store.CORE].begin() as core:
        issued = await partners.create(
            core,
            f"Bench CDC {uuid.uuid4().hex[:8]}",
            frozenset({Scope.EXPOSURES_READ, Scope.EXPOSURES_AUTHORITY}),
            province_code=PROVINCE,
            expires_at=None,
        )
    return issued.token


async def _timed(action: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = await action()
    return (time.perf_counter() - started) * 1000, rows


def _summary(name: str, times: Sequence[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"  {name:<13} median {statistics.median(times):8.2f} ms   "
        f"min {ordered[0]:8.2f}   p90 {p90:8.2f}   max {ordered[-1]:8.2f}"
    )


async def measure(end: datetime, runs: int) -> None:
    settings = Settings(_env_file=None, store_pool_size=2)
    urls = StoreUrls(URL, URL, URL)
    engines = Engines(urls, settings)
    query = ExposureQuery(CASE_ID, end - timedelta(days=14), end, timedelta(minutes=60))
    raw = await asyncpg.connect(URL)
    hand = await raw.prepare(HAND_WRITTEN)
    from api.app import create_app

    app = create_app(settings.model_copy(update={"access_log": False}), urls)
    token = await _partner_token(engines)
    variables = {
        "case": relay.to_base64("Citizen", CASE_ID),
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
    }

    async def ours() -> int:
        async with engines.reader(Store.CORE).connect() as core:
            return len(await exposure_rows(core, query))

    async def by_hand() -> int:
        return len(await hand.fetch(*_hand_params(query)))

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def request() -> int:
                response = await http.post(
                    "/graphql",
                    json={"query": EXPOSURES_REQUEST, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = response.json()
                assert "errors" not in body, body
                return sum(len(e["contacts"]) or 1 for e in body["data"]["exposures"])

            targets = {"ours": ours, "hand-written": by_hand, "request": request}
            counts = {name: (await _timed(action))[1] for name, action in targets.items()}
            for _ in range(2):  # warm-up
                for action in targets.values():
                    await action()
            times: dict[str, list[float]] = {name: [] for name in targets}
            names = list(targets)
            load_before = os.getloadavg()
            for run in range(runs):
                for name in names[run % 3 :] + names[: run % 3]:
                    times[name].append((await _timed(targets[name]))[0])
            load_after = os.getloadavg()

    async with engines.reader(Store.CORE).connect() as core:
        ours_rows = await exposure_rows(core, query)
        plan = await core.execute(
            sa.text("EXPLAIN (ANALYZE, BUFFERS) " + _EXPOSURES.text),
            {
                "case_id": query.case_id,
                "period_start": query.start,
                "period_end": query.end,
                "overlap": query.overlap,
                "trip_span": TRIP_SPAN,
            },
        )
        plan_lines = [row[0] for row in plan]
    hand_rows = await hand.fetch(*_hand_params(query))
    await raw.close()
    await engines.dispose()

    same = [(r.visit_id, r.contact_check_in_id) for r in ours_rows] == [
        (r["visit_id"], r["contact_id"]) for r in hand_rows
    ]
    visits = len({r.visit_id for r in ours_rows})
    contacts = sum(1 for r in ours_rows if r.contact_check_in_id is not None)
    same_trip = sum(1 for r in ours_rows if r.contact_same_trip)
    unlinked = sum(1 for r in ours_rows if r.contact_check_in_id and r.contact_citizen_id is None)
    print(
        f"\nThe case: {visits} check-ins over 14 days; {contacts:,} contact check-ins "
        f"({same_trip} on the same bus trip, {unlinked} unlinked staff scans); "
        f"rows: ours {counts['ours']:,}, hand-written {counts['hand-written']:,}; "
        f"same rows in the same order: {same}"
    )
    load = f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}"
    print(f"\n{runs} runs each, interleaved ({load}):")
    for name in names:
        print(_summary(name, times[name]))
    hand_median = statistics.median(times["hand-written"])
    print(
        f"  ratio ours / hand-written {statistics.median(times['ours']) / hand_median:.2f}x, "
        f"request / hand-written {statistics.median(times['request']) / hand_median:.2f}x"
    )
    print("\nPlan of our query (EXPLAIN ANALYZE, BUFFERS):")
    print("\n".join(plan_lines))


def _table_sizes() -> str:
    with psycopg.connect(URL, autocommit=True) as connection:
        count = connection.execute("SELECT count(*) FROM core.check_ins").fetchone()
        size = connection.execute(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'core.check_ins'::regclass"
        ).fetchone()
    assert count is not None and size is not None
    return f"{count[0]:,} check-ins, {size[0]} with indexes"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-ins", type=int, default=10_000_000)
    parser.add_argument("--venues", type=int, default=20_000)
    parser.add_argument("--citizens", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    options = parser.parse_args(argv)
    # The data ends at today's midnight (UTC); the case's 14 days end there too.
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    scale = Scale(options.check_ins, options.venues, options.citizens)
    started = time.perf_counter()
    try:
        if not options.reuse:
            print(f"Building {DATABASE} ({scale.check_ins:,} check-ins):")
            build(scale, end)
            print(f"  built in {time.perf_counter() - started:.0f} s: {_table_sizes()}")
        else:
            migrate(StoreUrls(URL, URL, URL))  # indexes added since it was built
            end = _data_end()
        asyncio.run(measure(end, options.runs))
    finally:
        if not options.keep:
            _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return 0


def _data_end() -> datetime:
    with psycopg.connect(URL, autocommit=True) as connection:
        row = connection.execute(
            "SELECT max(checked_in_at) FROM core.check_ins WHERE citizen_id = %s", (CASE_ID,)
        ).fetchone()
    assert row is not None
    return (row[0] + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


if __name__ == "__main__":
    raise SystemExit(main())
