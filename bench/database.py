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


def shuffled_citizen_ids(database: Database, seed: int = 2021) -> list[uuid.UUID]:
    with database.connect() as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM bench.citizen_ids ORDER BY n")]
    random.Random(seed).shuffle(ids)
    return ids


def postmaster_pid(database: Database) -> int:
    with database.connect() as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
    backend = int(row[0]) if row else 0
    stat = Path(f"/proc/{backend}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])
