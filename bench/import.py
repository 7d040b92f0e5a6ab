"""`healthgraph import` against a plain COPY of the same file, side by side in one run.

    .venv/bin/python -m bench.import               # 1,000,000 rows (a few minutes)
    .venv/bin/python -m bench.import --rows 50000  # a quick check

It creates `healthgraph_bench_import` on PostgreSQL at 127.0.0.1:5432 (dropped
and made again each run), migrates it, seeds 10,000 citizens, and writes an
immunization export of ROWS lines whose identifiers are those citizens' (typed
as sites type them, some mistyped, some nobody's). Then, in turn:

1. plain COPY of the file into an empty table of text columns (psycopg, the
   server parses the CSV);
2. `healthgraph import immunization FILE` (validation, COPY into staging, the
   upsert, matching and links), in its own process, reporting its peak RSS;
3. plain COPY again; the ratio uses the median of the two COPYs;
4. the floor: the records and links the import wrote, inserted again by one
   INSERT … SELECT each into empty copies of their tables with the same
   indexes; what any import that keeps those indexes pays at least.

With `--workbook-rows N` (default 1,000,000; 0 skips it) it also writes the
first N lines as an Excel workbook (openpyxl, write-only), reads it through
python-calamine alone, then empties the store and imports the workbook with
`healthgraph import`, each in its own process with its time and peak RSS; and
it compares python-calamine with openpyxl's read-only mode on a workbook of
`--openpyxl-rows` lines (openpyxl is slow; 0 skips the comparison).
"""

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.database import Database, _healthgraph, _recreate
from bench.tools import RESULTS_DIR, VENV_BIN
from models.record_import import IMMUNIZATION

HEADER = IMMUNIZATION.header
VACCINES = ("AZD1222", "BNT162b2", "mRNA-1273", "BBIBP-CorV")


def _citizens(database: Database) -> list[tuple[str, str, str | None, str | None]]:
    """(name, birth date, CCCD, phone) of the seeded citizens."""
    with database.connect() as connection:
        rows = connection.execute(
            """SELECT c.full_name, c.date_of_birth::text,
                      max(i.value) FILTER (WHERE i.kind = 'CCCD' AND i.verified), c.phone
               FROM core.citizens c JOIN core.citizen_identifiers i ON i.citizen_id = c.id
               GROUP BY c.id ORDER BY c.id"""
        ).fetchall()
    return [(r[0], r[1] or "", r[2], r[3]) for r in rows]


def write_export(
    path: Path, rows: int, people: list[tuple[str, str, str | None, str | None]]
) -> None:
    rng = random.Random(2021)
    start = datetime(2021, 3, 8, 8)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for n in range(rows):
            name, birth, cccd, phone = rng.choice(people)
            shape = rng.random()
            national_id = cccd if shape < 0.6 else ""
            typed_phone = phone if shape >= 0.4 else ""
            if shape > 0.97:
                national_id = f"{rng.randrange(10**11, 10**12):012d}"  # nobody's
            given = start + timedelta(minutes=rng.randrange(0, 600 * 24 * 60))
            line = {
                "source_record_id": f"TC-{n:08d}",
                "updated_at": (given + timedelta(hours=2)).isoformat(timespec="seconds") + "+07:00",
                "full_name": name,
                "date_of_birth": birth,
                "national_id": national_id,
                "phone": typed_phone,
                "vaccine_code": rng.choice(VACCINES),
                "dose_number": 1 + n % 3,
                "administered_at": given.strftime("%d/%m/%Y %H:%M"),
                "lot_number": f"NX{rng.randrange(10000):04d}",
                "site_name": "Trạm Y tế phường Trần Phú",
                "province_code": "24",
            }
            writer.writerow([line.get(column, "") for column in HEADER])


def plain_copy(database: Database, path: Path) -> float:
    columns = ", ".join(f"{c} text" for c in HEADER)
    with database.connect() as connection:
        connection.execute("DROP TABLE IF EXISTS bench.plain_copy")
        connection.execute(f"CREATE TABLE bench.plain_copy ({columns})")
        started = time.perf_counter()
        with (
            connection.cursor().copy(
                "COPY bench.plain_copy FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy,
            path.open("rb") as file,
        ):
            while chunk := file.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE bench.plain_copy")
    return elapsed


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall time, peak RSS (MiB) and standard output of a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    # wait4, not wait: the child's own peak RSS, not the maximum over every child so far.
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({child.returncode})")
    return elapsed, usage.ru_maxrss / 1024, output


def floor(database: Database) -> float:
    """What any import that keeps the stores' indexes pays at least: the rows the import
    wrote (records and their links) written again, by one INSERT … SELECT each, into empty
    copies of their tables with the same indexes (no upsert, no validation, no matching)."""
    tables = (
        ("immunization.vaccination_records", "true"),
        ("core.record_links", "store = 'immunization'"),
    )
    elapsed = 0.0
    with database.connect() as connection:
        for number, (table, written) in enumerate(tables):
            copy = f"bench.floor_{number}"
            connection.execute(f"DROP TABLE IF EXISTS {copy}")
            connection.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            started = time.perf_counter()
            connection.execute(f"INSERT INTO {copy} SELECT * FROM {table} WHERE {written}")
            elapsed += time.perf_counter() - started
            connection.execute(f"DROP TABLE {copy}")
    return elapsed


def empty_store(database: Database) -> None:
    """The records and links an import made, gone, so that the next one starts the same."""
    with database.connect() as connection:
        connection.execute("TRUNCATE immunization.vaccination_records")
        connection.execute("DELETE FROM core.record_links WHERE store = 'immunization'")
        connection.execute("VACUUM (ANALYZE) immunization.vaccination_records, core.record_links")


def import_run(database: Database, path: Path, data_dir: Path) -> tuple[float, float, str]:
    command = [str(VENV_BIN / "healthgraph"), "import", "immunization", str(path), "--quiet"]
    return _timed(command, database.service_env(data_dir))


_READERS = {
    "calamine": (
        "from python_calamine import CalamineWorkbook\n"
        "rows = 0\n"
        "for row in CalamineWorkbook.from_path({path!r}).get_sheet_by_index(0).iter_rows():\n"
        "    rows += 1\n"
        "print(rows)\n"
    ),
    "openpyxl read-only": (
        "from openpyxl import load_workbook\n"
        "rows = 0\n"
        "sheet = load_workbook({path!r}, read_only=True).worksheets[0]\n"
        "for row in sheet.iter_rows(values_only=True):\n"
        "    rows += 1\n"
        "print(rows)\n"
    ),
}


def write_workbook(source: Path, target: Path, rows: int) -> None:
    """The first `rows` lines of the CSV export as a workbook (openpyxl, written as it goes)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    with source.open(encoding="utf-8", newline="") as file:
        for number, line in enumerate(csv.reader(file)):
            if number > rows:
                break
            sheet.append(line)
    workbook.save(target)


def read_workbook(kind: str, path: Path) -> tuple[float, float, int]:
    script = _READERS[kind].format(path=str(path))
    elapsed, peak, output = _timed([sys.executable, "-c", script])
    return elapsed, peak, int(output.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--workbook-rows", type=int, default=1_000_000)
    parser.add_argument("--openpyxl-rows", type=int, default=100_000)
    args = parser.parse_args()
    database = Database("127.0.0.1", 5432, "postgres", "healthgraph_bench_import")
    work = RESULTS_DIR / "import"
    work.mkdir(parents=True, exist_ok=True)
    _recreate(database)
    _healthgraph(database, work, "migrate")
    _healthgraph(database, work, "seed", "--citizens", str(args.citizens))
    with database.connect() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS bench")
        # The seed's own records are not part of the measure.
        connection.execute("TRUNCATE immunization.vaccination_records")
        connection.execute("DELETE FROM core.record_links WHERE store = 'immunization'")
        connection.execute("VACUUM (ANALYZE)")
    export = work / f"export-{args.rows}.csv"
    write_export(export, args.rows, _citizens(database))
    size = export.stat().st_size / 2**20
    print(f"export: {args.rows} rows, {size:.0f} MiB", flush=True)

    copies = [plain_copy(database, export)]
    print(f"plain COPY: {copies[0]:.1f} s", flush=True)
    imported, peak, summary = import_run(database, export, work)
    print(f"healthgraph import: {imported:.1f} s, peak RSS {peak:.0f} MiB\n  {summary.strip()}")
    copies.append(plain_copy(database, export))
    print(f"plain COPY: {copies[1]:.1f} s", flush=True)
    floor_time = floor(database)
    print(f"floor (the written rows inserted again into indexed copies): {floor_time:.1f} s")
    copy_rate = args.rows / statistics.median(copies)
    import_rate = args.rows / imported
    print(
        f"\nrows/s: plain COPY {copy_rate:,.0f} (median of {len(copies)}), "
        f"import {import_rate:,.0f}; import / COPY = {import_rate / copy_rate:.3f}; "
        f"floor / COPY = {statistics.median(copies) / floor_time:.3f}"
    )

    if args.workbook_rows:
        workbook = work / f"export-{args.workbook_rows}.xlsx"
        write_workbook(export, workbook, args.workbook_rows)
        rows = min(args.workbook_rows, args.rows)
        print(f"\nworkbook: {rows} rows, {workbook.stat().st_size / 2**20:.0f} MiB", flush=True)
        elapsed, peak, read = read_workbook("calamine", workbook)
        print(
            f"python-calamine, reading only: {read - 1} rows in {elapsed:.1f} s, "
            f"peak RSS {peak:.0f} MiB",
            flush=True,
        )
        empty_store(database)
        imported, peak, summary = import_run(database, workbook, work)
        print(
            f"healthgraph import of the workbook: {imported:.1f} s "
            f"({rows / imported:,.0f} rows/s), peak RSS {peak:.0f} MiB\n  {summary.strip()}",
            flush=True,
        )
        if args.openpyxl_rows:
            target = work / f"export-{min(rows, args.openpyxl_rows)}.xlsx"
            if target != workbook:
                write_workbook(export, target, min(rows, args.openpyxl_rows))
            for kind in _READERS:
                elapsed, peak, read = read_workbook(kind, target)
                print(
                    f"{kind}: {read - 1} rows in {elapsed:.1f} s "
                    f"({(read - 1) / elapsed:,.0f} rows/s), peak RSS {peak:.0f} MiB"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
