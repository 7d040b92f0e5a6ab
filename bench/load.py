"""Closed-loop load: wrk against an HTTP endpoint, pgbench against PostgreSQL."""

import json
import re
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.database import Database
from bench.tools import BENCH_DIR

WRK_SCRIPT = BENCH_DIR / "wrk" / "dashboard.lua"
PGBENCH_DIR = BENCH_DIR / "pgbench"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    client_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class HttpLoad:
    """What wrk sends: a body file and one citizen (token or ID) per line of values_file."""

    url: str
    body_file: Path
    values_file: Path
    mode: str


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(wrk: str, load: HttpLoad, connections: int, threads: int, seconds: float) -> LoadResult:
    command = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        load.url,
        "--",
        str(load.body_file),
        str(load.values_file),
        load.mode,
        str(threads),
    ]
    before = _children_cpu_seconds()
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    client_cpu = _children_cpu_seconds() - before
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    report = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=report["requests"],
        seconds=report["duration_us"] / 1e6,
        errors=sum(report["errors"].values()),
        p50_ms=report["latency_us"]["p50"] / 1000,
        p99_ms=report["latency_us"]["p99"] / 1000,
        client_cpu_seconds=client_cpu,
    )


@dataclass(frozen=True)
class PgbenchLoad:
    script: str
    protocol: str

    @property
    def path(self) -> Path:
        return PGBENCH_DIR / self.script


def _percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return float(sorted_values[index])


def _latencies_us(log_dir: Path) -> list[int]:
    latencies: list[int] = []
    for path in log_dir.glob("pgbench_log*"):
        with path.open() as handle:
            latencies.extend(int(line.split()[2]) for line in handle if line.strip())
    return sorted(latencies)


def run_pgbench(
    pgbench: str,
    database: Database,
    load: PgbenchLoad,
    citizens: int,
    clients: int,
    threads: int,
    seconds: float,
    log_dir: Path,
) -> LoadResult:
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("pgbench_log*"):
        old.unlink()
    command = [
        pgbench,
        "-h",
        database.host,
        "-p",
        str(database.port),
        "-U",
        database.user,
        "-n",
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-T",
        str(max(1, round(seconds))),
        "-M",
        load.protocol,
        "-D",
        f"citizens={citizens}",
        "-f",
        str(load.path),
        "-l",
        f"--log-prefix={log_dir / 'pgbench_log'}",
        database.name,
    ]
    before = _children_cpu_seconds()
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    elapsed = time.monotonic() - started
    client_cpu = _children_cpu_seconds() - before
    latencies = _latencies_us(log_dir)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    measured_seconds = len(latencies) / float(tps.group(1)) if tps else elapsed
    return LoadResult(
        requests=len(latencies),
        seconds=measured_seconds,
        errors=int(failed.group(1)) if failed else 0,
        p50_ms=_percentile(latencies, 0.50) / 1000,
        p99_ms=_percentile(latencies, 0.99) / 1000,
        client_cpu_seconds=client_cpu,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
