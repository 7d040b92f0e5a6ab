"""Starting and stopping the two GraphQL servers under test, on 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.database import Database
from bench.tools import BENCH_DIR, healthgraph, node

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Server:
    name: str
    pid: int
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def post_json(
    url: str, payload: dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 10
) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}")
        try:
            post_json(url, {"query": "{ __typename }"}, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {log}")


def _wait_for_workers(log: Path, workers: int, timeout: float) -> None:
    """The first worker answers before the others have started: wait for all of them,
    or the warm-up's connections all go to the first and the measured run starts the
    others cold (new pool connections, plans not yet compiled)."""
    deadline = time.monotonic() + timeout
    while log.read_bytes().count(b"Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {workers} workers started within {timeout:.0f}s")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


@contextmanager
def _serving(
    name: str, command: list[str], env: dict[str, str], cwd: Path, port: int, log: Path
) -> Iterator[Server]:
    url = f"http://{HOST}:{port}/graphql"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(url, process, log, timeout=120)
            yield Server(name, process.pid, url, log)
        finally:
            _stop(process)


@contextmanager
def ours(
    database: Database, data_dir: Path, workers: int, log: Path, layers: bool = True
) -> Iterator[Server]:
    """layers=False: without the access log and the request counting."""
    port = free_port()
    command = [
        str(healthgraph()),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # As in production, behind a proxy: an access-log line per request, metrics, request
    # rates counted per token and per client address (X-Forwarded-For, which the load
    # sets per citizen) in the core store, the limits at their defaults.
    env = {
        **database.service_env(data_dir),
        "HEALTHGRAPH_ACCESS_TOKEN_MINUTES": "1440",
        "HEALTHGRAPH_TRUSTED_PROXIES": "127.0.0.1",
        # Enough for 16 requests in flight over the workers, and far from PostgreSQL's
        # connection limit when the three stores' pools all point at one server.
        "HEALTHGRAPH_STORE_POOL_SIZE": "8",
    }
    if not layers:
        env |= {
            "HEALTHGRAPH_ACCESS_LOG": "false",
            "HEALTHGRAPH_RATE_LIMIT_PER_TOKEN": "0",
            "HEALTHGRAPH_RATE_LIMIT_PER_ADDRESS": "0",
        }
    with _serving(f"healthgraph w={workers}", command, env, BENCH_DIR.parent, port, log) as server:
        _wait_for_workers(log, workers, timeout=120)
        yield server


@contextmanager
def postgraphile(database: Database, log: Path) -> Iterator[Server]:
    port = free_port()
    command = [str(node()), str(BENCH_DIR / "postgraphile" / "server.mjs")]
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "DATABASE_URL": database.url,
        "PORT": str(port),
    }
    with _serving("PostGraphile", command, env, BENCH_DIR, port, log) as server:
        yield server
