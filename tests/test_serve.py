"""`healthgraph serve` with two worker processes behind one port: they share what must be
shared (rate limits, signed-out sessions, metrics) and stop without dropping requests."""

import asyncio
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from models.stores import Store
from tests.conftest import SUITE_LOG

HEALTHGRAPH = str(Path(sys.executable).with_name("healthgraph"))
REQUEST_OTP = """mutation Ask($phone: String!) { requestOtp(phone: $phone) {
  challenge { id } userErrors { code } } }"""
VERIFY_OTP = """mutation Verify($id: ID!, $code: String!) {
  verifyOtp(challengeId: $id, code: $code) { session { accessToken refreshToken } } }"""
LOGOUT = """mutation Out($token: String!) { logout(refreshToken: $token) { signedOut } }"""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def request_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("logger") == "healthgraph.request"]

    def last_code_for(self, phone: str) -> str:
        outbox = (self.data_dir / "sms-outbox.txt").read_text().splitlines()
        line = next(line for line in reversed(outbox) if f" to {phone}: " in line)
        code = re.search(r"\b(\d{6})\b", line.split(": ", 1)[1]).group(1)  # type: ignore[union-attr]
        SUITE_LOG.secrets.add(code)
        return code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(settings, tmp_path: Path, workers: int, **env: str) -> Server:
    port = _free_port()
    log = tmp_path / "server.log"
    data_dir = tmp_path / "data"
    environment = {
        **os.environ,
        "HEALTHGRAPH_CORE_DATABASE_URL": settings.core_database_url,
        "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": settings.immunization_database_url,
        "HEALTHGRAPH_TESTING_DATABASE_URL": settings.testing_database_url,
        "HEALTHGRAPH_DATA_DIR": str(data_dir),
        "HEALTHGRAPH_JWT_KEYS_DIR": str(settings.keys_dir),
        "HEALTHGRAPH_STORE_READ_TIMEOUT": str(settings.store_read_timeout),
        **env,
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HEALTHGRAPH, "serve", "--port", str(port), "--workers", str(workers)],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log, data_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()[-2000:]}")
        ready = [
            line for line in server.lines() if "Application startup complete" in line["message"]
        ]
        if len(ready) >= workers:
            return server
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"serve did not start: {log.read_text()[-2000:]}")


def _stop(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    # Their lines are checked with the whole suite's for identifiers, tokens and codes.
    SUITE_LOG.lines.extend(server.log.read_text().splitlines())
    return server.process.returncode


@pytest.fixture(scope="module")
def two_workers(settings, store_urls, issuer, tmp_path_factory) -> Iterator[Server]:
    server = _start(
        settings,
        tmp_path_factory.mktemp("serve"),
        2,
        HEALTHGRAPH_OTP_REQUESTS_PER_PHONE="3",
        HEALTHGRAPH_REVOCATION_REFRESH_SECONDS="0.5",
    )
    yield server
    _stop(server)


async def _each_on_a_new_connection(
    server: Server, count: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    """Rounds of `count` concurrent requests, each on its own connection, until the kernel
    has given both workers some (an idle machine often wakes the same worker for a whole
    round); every response of every round."""
    limits = httpx.Limits(max_keepalive_connections=0)
    responses: list[httpx.Response] = []
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        for _ in range(20):
            responses += await asyncio.gather(
                *(
                    http.post(
                        "/graphql",
                        json=body,
                        headers={**(headers or {}), "x-request-id": uuid.uuid4().hex},
                    )
                    for _ in range(count)
                )
            )
            if len(_workers_that_answered(server, responses)) == 2:
                break
    return responses


def _workers_that_answered(server: Server, responses: list[httpx.Response]) -> set[int]:
    ids = {response.headers["x-request-id"] for response in responses}
    return {line["process"] for line in server.request_lines() if line["request_id"] in ids}


async def test_both_workers_answer_on_one_port(two_workers):
    responses = await _each_on_a_new_connection(two_workers, 30, {"query": "{ vaccines { code } }"})

    assert {r.status_code for r in responses} == {200}
    assert len(_workers_that_answered(two_workers, responses)) == 2


async def test_metrics_count_the_requests_of_every_worker(two_workers):
    query = {"query": "query MetricsProbe { vaccines { code } }"}

    responses = await _each_on_a_new_connection(two_workers, 24, query)

    assert len(_workers_that_answered(two_workers, responses)) == 2
    async with httpx.AsyncClient(base_url=two_workers.url) as http:
        text = (await http.get("/metrics")).text
    samples = [
        line
        for line in text.splitlines()
        if line.startswith("healthgraph_graphql_operations_total{")
        and 'operation="MetricsProbe"' in line
    ]
    # Every request counted once, whichever worker answered it and the scrape.
    assert sum(float(sample.rsplit(" ", 1)[1]) for sample in samples) == len(responses)
    assert any('outcome="ok"' in sample for sample in samples)
    assert 'healthgraph_store_read_seconds_count{store="immunization"}' in text
    assert "healthgraph_store_pool_size" in text


async def test_a_rate_limit_holds_across_workers(two_workers):
    phone = "0977000001"

    responses = await _each_on_a_new_connection(
        two_workers, 8, {"query": REQUEST_OTP, "variables": {"phone": phone}}
    )

    assert len(_workers_that_answered(two_workers, responses)) == 2
    codes = [
        (r.json().get("errors") or [{"extensions": {"code": "ok"}}])[0]["extensions"]["code"]
        for r in responses
    ]
    assert sorted(codes) == ["RATE_LIMITED"] * (len(codes) - 3) + ["ok"] * 3


async def test_a_persisted_query_registered_with_one_worker_runs_on_every_worker(two_workers):
    document = f"query Catalog {{ vaccines {{ code n{uuid.uuid4().hex}: name }} }}"
    persisted = {
        "persistedQuery": {
            "version": 1,
            "sha256Hash": hashlib.sha256(document.encode()).hexdigest(),
        }
    }
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as http:
        registered = await http.post("/graphql", json={"query": document, "extensions": persisted})

    responses = await _each_on_a_new_connection(two_workers, 16, {"extensions": persisted})

    assert len(_workers_that_answered(two_workers, responses)) == 2
    assert {r.text for r in responses} == {registered.text}
    assert registered.json()["data"]["vaccines"]


async def test_a_signed_out_session_is_refused_by_every_worker_within_seconds(two_workers):
    phone = "0977000002"
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as http:
        asked = await http.post(
            "/graphql", json={"query": REQUEST_OTP, "variables": {"phone": phone}}
        )
        challenge = asked.json()["data"]["requestOtp"]["challenge"]["id"]
        code = two_workers.last_code_for(phone)
        verified = await http.post(
            "/graphql", json={"query": VERIFY_OTP, "variables": {"id": challenge, "code": code}}
        )
        session = verified.json()["data"]["verifyOtp"]["session"]
        await http.post(
            "/graphql", json={"query": LOGOUT, "variables": {"token": session["refreshToken"]}}
        )
    bearer = {"authorization": f"Bearer {session['accessToken']}"}
    me = {"query": "query Me { me { id } }"}

    await asyncio.sleep(2)
    responses = await _each_on_a_new_connection(two_workers, 20, me, bearer)

    assert len(_workers_that_answered(two_workers, responses)) == 2
    assert {r.json()["errors"][0]["extensions"]["code"] for r in responses} == {"UNAUTHENTICATED"}


async def test_sigterm_lets_a_request_in_flight_finish(settings, engines, given, issuer, tmp_path):
    citizen = await given.citizen()
    server = _start(settings, tmp_path, 1)
    try:
        async with (
            engines[Store.CORE].begin() as lock,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            # The citizen's profile waits behind this lock: the request is in flight.
            await lock.execute(sa.text("LOCK TABLE core.citizens IN ACCESS EXCLUSIVE MODE"))
            in_flight = asyncio.create_task(
                http.post(
                    "/graphql",
                    json={"query": "{ me { fullName } }"},
                    headers={"authorization": f"Bearer {issuer.issue(citizen)}"},
                )
            )
            await asyncio.sleep(1)
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            assert server.process.poll() is None  # still finishing the request
            await lock.rollback()
            response = await in_flight
    finally:
        returncode = _stop(server)

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"fullName": "Nguyễn Văn An"}}}
    # uvicorn stops cleanly, then lets the signal end the process as the signal would.
    assert returncode in (0, -signal.SIGTERM)
    assert any("Finished server process" in line["message"] for line in server.lines())
    # The request's access line was written before the process ended.
    assert [line["status"] for line in server.request_lines()] == [200]


def test_serve_refuses_a_busy_port_before_printing_a_banner_or_token(settings, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        finished = subprocess.run(
            [HEALTHGRAPH, "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,
            env={
                **os.environ,
                "HEALTHGRAPH_CORE_DATABASE_URL": settings.core_database_url,
                "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": settings.immunization_database_url,
                "HEALTHGRAPH_TESTING_DATABASE_URL": settings.testing_database_url,
                "HEALTHGRAPH_DATA_DIR": str(tmp_path / "data"),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert finished.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "GraphiQL" not in finished.stdout and "Bearer" not in finished.stdout
