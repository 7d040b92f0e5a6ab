"""The plan of the search that re-matches a citizen's records, on a million records a store.

    .venv/bin/python -m bench.relink_plan                    # 1M doses and 1M samples
    .venv/bin/python -m bench.relink_plan --records 100000   # a quick look

Creates the database `healthgraph_bench_relink` on 127.0.0.1:5432, migrates it
(the three stores share it), fills each record store with generate_series
(identifiers typed with and without separators), then prints EXPLAIN (ANALYZE,
BUFFERS) of `models.verification.carrying_query` in each store: the search
`models.relinking` runs when a citizen's identifiers change, by national ID,
insurance number, phone with birth date and the records linked to them; then
the same without the typed indexes. Drops the database at the end (`--keep`
keeps it).
"""

import argparse
import time
import uuid
from datetime import date

import psycopg
from sqlalchemy.dialects import postgresql

from models.identifiers import IdentifierKind
from models.link import RecordStore
from models.migration import migrate
from models.stores import StoreUrls
from models.verification import carrying_query

HOST = "127.0.0.1:5432"
DATABASE = "healthgraph_bench_relink"
ADMIN_URL = f"postgresql://postgres@{HOST}/postgres"
URL = f"postgresql://postgres@{HOST}/{DATABASE}"

# One in three sites types identifiers with separators; the index reads them without.
_PERSON = """
    CASE WHEN n %% 3 = 0 THEN '024 ' || lpad((90000000 + n)::text, 9, '0')
         ELSE '024' || lpad((90000000 + n)::text, 9, '0') END,
    'DN424' || lpad(n::text, 10, '0'),
    CASE WHEN n %% 2 = 0 THEN '+84 ' || (900000000 + n)::text ELSE '0' || (900000000 + n)::text END,
    'Người ' || n, DATE '1950-01-01' + (n %% 25000), '24', 'VALID'
"""
_FILL = {
    RecordStore.IMMUNIZATION: f"""
INSERT INTO immunization.vaccination_records (id, source_system, source_record_id,
    national_id, insurance_number, phone, full_name, date_of_birth, province_code, status,
    vaccine_code, dose_number, administered_at, site_name, source_updated_at, recorded_at)
SELECT gen_random_uuid(), 'bench', 'V-' || n, {_PERSON},
    'AZD1222', 1 + n %% 3, TIMESTAMPTZ '2021-08-01' + n * INTERVAL '1 second', 'Trạm Y tế',
    now(), now()
FROM generate_series(1, %(records)s) AS n
""",
    RecordStore.TESTING: f"""
INSERT INTO testing.samples (id, source_system, source_record_id,
    national_id, insurance_number, phone, full_name, date_of_birth, province_code, status,
    sample_code, test_type, pooled, collected_at, collection_site, result, source_updated_at,
    recorded_at)
SELECT gen_random_uuid(), 'bench', 'S-' || n, {_PERSON},
    'S' || n, 'RAPID_ANTIGEN', false, TIMESTAMPTZ '2021-08-01' + n * INTERVAL '1 second',
    'Điểm lấy mẫu', 'NEGATIVE', now(), now()
FROM generate_series(1, %(records)s) AS n
""",
}
_TABLE = {RecordStore.IMMUNIZATION: "vaccination_records", RecordStore.TESTING: "samples"}


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def _plan(connection: psycopg.Connection, store: RecordStore, records: int) -> str:
    n = records // 2
    linked = connection.execute(
        f"SELECT id FROM {store.value}.{_TABLE[store]} WHERE source_record_id LIKE '_-' || %s",
        (str(n + 1),),
    ).fetchall()
    query = carrying_query(
        store,
        [
            (IdentifierKind.CCCD, f"024{90000000 + n:09d}"),
            (IdentifierKind.BHYT, f"DN424{n:010d}"),
        ],
        phone=f"0{900000000 + n}",
        date_of_birth=date.fromordinal(date(1950, 1, 1).toordinal() + n % 25000),
        record_ids=[uuid.UUID(str(row[0])) for row in linked],
    )
    assert query is not None
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    explain = f"EXPLAIN (ANALYZE, BUFFERS) {sql}"
    plan = "\n".join(row[0] for row in connection.execute(explain).fetchall())  # type: ignore[call-overload]
    # The same search without the typed indexes (dropped in a transaction rolled back).
    with connection.transaction(force_rollback=True):
        for index in ("national_id", "insurance_number", "phone_dob"):
            connection.execute(f"DROP INDEX {store.value}.ix_{_TABLE[store]}_typed_{index}")  # type: ignore[arg-type]
        rows = connection.execute(explain).fetchall()  # type: ignore[call-overload]
    return plan + "\n\nwithout the typed indexes:\n" + "\n".join(row[0] for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records in each store")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        migrate(StoreUrls(URL, URL, URL))
        with psycopg.connect(URL, autocommit=True) as connection:
            for store, fill in _FILL.items():
                started = time.perf_counter()
                connection.execute(fill, {"records": args.records})  # type: ignore[arg-type]
                connection.execute(f"ANALYZE {store.value}.{_TABLE[store]}")  # type: ignore[arg-type]
                seconds = time.perf_counter() - started
                print(f"{store.value}: {args.records} records in {seconds:.0f} s")
            for store in RecordStore:
                print(f"\n{store.value}:\n{_plan(connection, store, args.records)}")
    finally:
        if not args.keep:
            _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
