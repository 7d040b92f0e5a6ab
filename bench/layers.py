"""What the operational layers cost per request, each on and off, side by side in one run.

The same request (the dashboard, or `--document me` for `{ me { id } }`) for the same
citizens, through the ASGI app in this process, one request at a time, under these
configurations:

  production    every layer as served: one JSON access-log line per request (the
                service's log handler, writing to a file), Prometheus metrics
                (requests, operations, store reads, pool gauges), OpenTelemetry
                off, rate-limit counting per token and per client address in the
                core store
  no-log        production without the access log
  no-metrics    production without the metrics
  no-counting   production without the rate-limit counting
  bare          all of them off

Each round runs every configuration once, in an order that rotates every round, on
a fresh app: a warm-up, then `--requests` timed requests. Figures are medians over
the rounds of each run's median latency and of this process's CPU time per request
(the app and the client; PostgreSQL's share of a counted request is not in it).

    .venv/bin/python -m bench.layers                 # 5 rounds of 400 dashboards
    .venv/bin/python -m bench.layers --document me   # the cheapest citizen request
"""

import argparse
import asyncio
import logging
import logging.config
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

from api import app as app_module
from api import observe
from api.app import create_app
from api.logs import log_config
from auth.tokens import TokenIssuer
from bench.database import Database, ensure_seeded
from models.config import Settings
from models.stores import StoreObserver, StoreUrls

DASHBOARD = (Path(__file__).parent / "dashboard.graphql").read_text()
DOCUMENTS = {"dashboard": DASHBOARD, "me": "query Me { me { id } }"}
LAYERS = ("log", "metrics", "counting")
CONFIGURATIONS: dict[str, frozenset[str]] = {
    "production": frozenset(LAYERS),
    "no-log": frozenset(LAYERS) - {"log"},
    "no-metrics": frozenset(LAYERS) - {"metrics"},
    "no-counting": frozenset(LAYERS) - {"counting"},
    "bare": frozenset(),
}


@dataclass(frozen=True)
class Run:
    configuration: str
    median_ms: float
    p90_ms: float
    cpu_ms: float


def _settings(url: str, data_dir: Path, layers: frozenset[str]) -> Settings:
    counting = "counting" in layers
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        core_database_url=url,
        immunization_database_url=url,
        testing_database_url=url,
        access_token_minutes=600,
        access_log="log" in layers,
        # Limits far above what the run sends: counted, never refused.
        rate_limit_per_token=10**9 if counting else 0,
        rate_limit_per_address=10**9 if counting else 0,
    )


@contextmanager
def _without_metrics() -> Iterator[None]:
    """No request, operation or store-read samples, no pool gauges."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(observe, "observe_request", lambda *a, **k: None))
        stack.enter_context(mock.patch.object(app_module, "watch_pools", lambda engines: None))
        stack.enter_context(
            mock.patch.object(app_module, "StoreTelemetry", lambda tracer: StoreObserver())
        )
        yield


def _citizen_ids(database: Database, count: int) -> list[Any]:
    with database.connect() as connection:
        rows = connection.execute("SELECT id FROM core.citizens ORDER BY id LIMIT %s", (count,))
        return [row[0] for row in rows.fetchall()]


async def _one_run(
    name: str,
    url: str,
    data_dir: Path,
    document: str,
    citizens: list[Any],
    requests: int,
    warmup: int,
) -> Run:
    layers = CONFIGURATIONS[name]
    settings = _settings(url, data_dir, layers)
    with ExitStack() as stack:
        if "metrics" not in layers:
            stack.enter_context(_without_metrics())
        app = create_app(settings, StoreUrls(url, url, url))
        issuer = TokenIssuer.from_settings(settings)
        tokens = [issuer.issue(citizen) for citizen in citizens]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

                async def one(number: int) -> float:
                    started = time.perf_counter()
                    response = await http.post(
                        "/graphql",
                        json={"query": document},
                        headers={"Authorization": f"Bearer {tokens[number % len(tokens)]}"},
                    )
                    elapsed = time.perf_counter() - started
                    body = response.json()
                    assert response.status_code == 200 and "errors" not in body, body
                    return elapsed

                for number in range(warmup):
                    await one(number)
                cpu_started = time.process_time()
                latencies = [await one(number) for number in range(requests)]
                cpu = time.process_time() - cpu_started
    ordered = sorted(latencies)
    return Run(
        name,
        statistics.median(latencies) * 1000,
        ordered[int(len(ordered) * 0.9)] * 1000,
        cpu / requests * 1000,
    )


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def _report(runs: list[Run]) -> str:
    by_name = {name: [r for r in runs if r.configuration == name] for name in CONFIGURATIONS}
    medians = {
        name: (
            statistics.median(r.median_ms for r in own),
            statistics.median(r.p90_ms for r in own),
            statistics.median(r.cpu_ms for r in own),
            min(r.median_ms for r in own),
            max(r.median_ms for r in own),
        )
        for name, own in by_name.items()
    }
    bare_ms, _, bare_cpu, _, _ = medians["bare"]
    production_ms, _, production_cpu, _, _ = medians["production"]
    rows = [
        [
            "configuration",
            "median ms",
            "p90 ms",
            "rounds' medians",
            "CPU ms/req",
            "x bare (latency)",
            "x bare (CPU)",
            "layer's share (ms)",
        ]
    ]
    for name, (median, p90, cpu, low, high) in medians.items():
        share = production_ms - median if name.startswith("no-") else None
        rows.append(
            [
                name,
                f"{median:.2f}",
                f"{p90:.2f}",
                f"{low:.2f}-{high:.2f}",
                f"{cpu:.2f}",
                f"{median / bare_ms:.3f}",
                f"{cpu / bare_cpu:.3f}",
                f"{share:+.2f}" if share is not None else "",
            ]
        )
    overhead = production_ms - bare_ms
    return (
        _table(rows)
        + f"\n\nall layers: {overhead:+.2f} ms a request "
        + f"({production_ms / bare_ms:.3f}x bare), "
        + f"CPU {production_cpu - bare_cpu:+.2f} ms ({production_cpu / bare_cpu:.3f}x)"
    )


async def _main(args: argparse.Namespace) -> None:
    database = Database("127.0.0.1", 5432, "postgres", args.database)
    data_dir = Path(tempfile.mkdtemp(prefix="healthgraph-layers-"))
    ensure_seeded(database, args.citizens, data_dir, reseed=False)
    citizens = _citizen_ids(database, args.tokens)
    log_file = data_dir / "access.log"
    config = log_config("INFO")
    # The service's own handler, writing to a file instead of stderr.
    config["handlers"]["stderr"]["stream"] = log_file.open("a")
    logging.config.dictConfig(config)
    document = DOCUMENTS[args.document]
    names = list(CONFIGURATIONS)
    runs: list[Run] = []
    print(
        f"{args.document}: {args.rounds} rounds x {len(names)} configurations x "
        f"{args.requests} requests (warm-up {args.warmup}), {len(citizens)} citizens; "
        f"load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    for number in range(args.rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order:
            run = await _one_run(
                name, database.url, data_dir, document, citizens, args.requests, args.warmup
            )
            runs.append(run)
            print(
                f"round {number + 1} {name:12} median {run.median_ms:6.2f} ms  "
                f"p90 {run.p90_ms:6.2f} ms  CPU {run.cpu_ms:5.2f} ms/request",
                flush=True,
            )
    # The handler writes the access log's last lines within half a second: now.
    logging.shutdown()
    print(
        f"\nload average {os.getloadavg()[0]:.2f} at the end; log lines written: "
        f"{sum(1 for _ in log_file.open())}\n"
    )
    print(_report(runs))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="healthgraph_bench_layers")
    parser.add_argument("--citizens", type=int, default=1000, help="seeded once")
    parser.add_argument("--tokens", type=int, default=200, help="citizens the requests cycle over")
    parser.add_argument("--document", choices=sorted(DOCUMENTS), default="dashboard")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=100)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
