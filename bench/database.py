"""The benchmark database: created, migrated and seeded once, then reused."""

import os
import random
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench.tools import BENCH_DIR, healthgraph

POSTGRAPHILE_SQL = BENCH_DIR / "postgraphile" / "schema.sql"

_HELPERS = """
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.seed_info (
    citizens integer NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bench.citizen_ids (n integer PRIMARY KEY, id uuid NOT NULL);
CREATE TABLE IF NOT EXISTS bench.heavy_citizens (id uuid PRIMARY KEY);
"""


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    name: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def service_env(self, data_dir: Path) -> dict[str, str]:
        """Environment for the healthgraph program: all three stores in this database."""
        return {
            **os.environ,
            "HEALTHGRAPH_ENV": "development",
            "HEALTHGRAPH_DATA_DIR": str(data_dir),
            "HEALTHGRAPH_CORE_DATABASE_URL": self.url,
            "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": self.url,
            "HEALTHGRAPH_TESTING_DATABASE_URL": self.url,
        }


def _exists(database: Database) -> bool:
    with psycopg.connect(database.admin_url, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database.name,)
        ).fetchone()
    return found is not None


def _seeded_citizens(database: Database) -> int | None:
    if not _exists(database):
        return None
    with database.connect() as connection:
        table = connection.execute("SELECT to_regclass('bench.seed_info')").fetchone()
        if table is None or table[0] is None:
            return None
        row = connection.execute(
            "SELECT citizens FROM bench.seed_info ORDER BY seeded_at DESC LIMIT 1"
        ).fetchone()
    return int(row[0]) if row else None


def _recreate(database: Database) -> None:
    with psycopg.connect(database.admin_url, autocommit=True) as connection:
        name = sql.Identifier(database.name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _healthgraph(database: Database, data_dir: Path, *arguments: str) -> None:
    command = [str(healthgraph()), *arguments]
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, env=database.service_env(data_dir), check=True, timeout=3600)


def ensure_seeded(database: Database, citizens: int, data_dir: Path, reseed: bool) -> None:
    """Seed `citizens` citizens unless the database already holds exactly that seed."""
    if not reseed and _seeded_citizens(database) == citizens:
        print(f"{database.name}: already seeded with {citizens} citizens", flush=True)
        # The service may have gained migrations since the seed.
        _healthgraph(database, data_dir, "migrate")
        return
    _recreate(database)
    _healthgraph(database, data_dir, "migrate")
    _healthgraph(database, data_dir, "seed", "--citizens", str(citizens))
    with database.connect() as connection:
        print(f"{database.name}: VACUUM ANALYZE", flush=True)
        connection.execute("VACUUM (ANALYZE)")
        connection.execute(_HELPERS)
        connection.execute("INSERT INTO bench.seed_info (citizens) VALUES (%s)", (citizens,))


def install_helpers(database: Database) -> int:
    """PostGraphile's computed columns and pgbench's citizen numbering; returns the count."""
    with database.connect() as connection:
        connection.execute(_HELPERS)
        connection.execute(POSTGRAPHILE_SQL.read_text())
        connection.execute("TRUNCATE bench.citizen_ids")
        connection.execute(
            "INSERT INTO bench.citizen_ids "
            "SELECT row_number() OVER (ORDER BY id), id FROM core.citizens"
        )
        connection.execute("ANALYZE bench.citizen_ids")
        row = connection.execute("SELECT count(*) FROM bench.citizen_ids").fetchone()
    return int(row[0]) if row else 0


def prewarm(database: Database) -> int:
    """Read every table and index of the three stores once (pg_prewarm, into the operating
    system's cache), so that no target of the first round pays the disk for the data's
    first read; returns the pages read. Without it the first round's cold runs waited on
    the disk, every target alike, at a fraction of their CPU."""
    with database.connect() as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        row = connection.execute(
            "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('core', 'immunization', 'testing') AND c.relkind IN ('r', 'i')"
        ).fetchone()
    return int(row[0]) if row else 0


def shuffled_citizen_ids(database: Database, seed: int = 2021) -> list[uuid.UUID]:
    """Every citizen but those given a heavy history, in a fixed random order."""
    with database.connect() as connection:
        ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM bench.citizen_ids WHERE id NOT IN "
                "(SELECT id FROM bench.heavy_citizens) ORDER BY n"
            )
        ]
    random.Random(seed).shuffle(ids)
    return ids


# Industrial-park workers tested every few days for months: hundreds of samples each,
# linked as the service links them (with the sample's time on the link).
_HEAVY_HISTORY = """
INSERT INTO bench.heavy_citizens (id)
SELECT id FROM core.citizens ORDER BY md5(id::text) LIMIT %(citizens)s;

INSERT INTO testing.samples (
    id, source_system, source_record_id, sample_code, test_type, pooled, pool_code,
    collected_at, collection_site, lab_code, result, resulted_at, national_id,
    insurance_number, phone, full_name, date_of_birth, province_code, recorded_at,
    source_updated_at, status)
SELECT gen_random_uuid(), 'bench-heavy-history', h.id || '/' || g,
       'H-' || left(h.id::text, 8) || '-' || lpad(g::text, 4, '0'), 'RT_PCR', false, NULL,
       timestamptz '2022-06-01 08:00+07' - g * interval '2 days 3 hours',
       'Trạm y tế khu công nghiệp', NULL, 'NEGATIVE',
       timestamptz '2022-06-01 20:00+07' - g * interval '2 days 3 hours',
       NULL, NULL, NULL, c.full_name, c.date_of_birth, coalesce(c.province_code, '24'), now(),
       now(), 'VALID'
FROM bench.heavy_citizens h
JOIN core.citizens c ON c.id = h.id
CROSS JOIN generate_series(1, %(samples)s) g;

INSERT INTO core.record_links (
    store, record_id, citizen_id, status, method, reason, province_code, decided_by,
    matched_at, occurred_at)
SELECT 'testing', s.id, split_part(s.source_record_id, '/', 1)::uuid, 'LINKED', 'OPERATOR',
       NULL, s.province_code, 'benchmark', now(), s.collected_at
FROM testing.samples s
WHERE s.source_system = 'bench-heavy-history';

INSERT INTO bench.heavy_history (citizens, samples) VALUES (%(citizens)s, %(samples)s);
"""


def ensure_heavy_history(database: Database, citizens: int, samples: int) -> list[uuid.UUID]:
    """Give `citizens` citizens `samples` more test results each, once; returns their IDs."""
    with database.connect() as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench.heavy_citizens (id uuid PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS bench.heavy_history "
            "(citizens integer NOT NULL, samples integer NOT NULL)"
        )
        done = connection.execute("SELECT citizens, samples FROM bench.heavy_history").fetchone()
        if done is None:
            print(f"giving {citizens} citizens {samples} test results each", flush=True)
            with connection.transaction():
                for statement in _HEAVY_HISTORY.split(";\n"):
                    if statement.strip():
                        connection.execute(statement, {"citizens": citizens, "samples": samples})
            connection.execute("VACUUM (ANALYZE) testing.samples, core.record_links")
        elif tuple(done) != (citizens, samples):
            raise SystemExit(
                f"{database.name} holds a heavy history of {done[0]} citizens with {done[1]} "
                "samples each: pass those, or --reseed"
            )
        return [row[0] for row in connection.execute("SELECT id FROM bench.heavy_citizens")]


def history_sizes(database: Database, ids: list[uuid.UUID]) -> tuple[float, float]:
    """Mean linked test results of these citizens, and of everyone."""
    with database.connect() as connection:
        row = connection.execute(
            "SELECT count(*) FILTER (WHERE citizen_id = ANY(%s))::float / greatest(%s, 1), "
            "count(*)::float / (SELECT count(*) FROM core.citizens) "
            "FROM core.record_links WHERE store = 'testing' AND status = 'LINKED'",
            (ids, len(ids)),
        ).fetchone()
    return (float(row[0]), float(row[1])) if row else (0.0, 0.0)


def postmaster_pid(database: Database) -> int:
    """The postmaster is the parent of a backend: read it while the backend is alive."""
    with database.connect() as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        backend = int(row[0]) if row else 0
        stat = Path(f"/proc/{backend}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])
