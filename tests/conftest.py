"""Fixtures: fresh databases per store on a real PostgreSQL, the app, and a data builder."""

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy import create_engine, pool

from api.app import create_app
from auth.health_pass import PassIssuer
from auth.sms import outbox_path
from auth.tokens import TokenIssuer
from models.checkin import CheckIn, CheckInMethod, ensure_partitions, months_between
from models.citizen import Citizen, CitizenIdentifier
from models.config import Settings
from models.identifiers import IdentifierKind, normalize_national_id
from models.link import OCCURRED_AT_COLUMN, RecordStore
from models.matching import RecordIdentity, RecordToLink, link_records
from models.migration import migrate
from models.stores import Engines, Store, StoreUrls, start_embedded_postgres, sync_url
from models.testing import Sample, TestOutcome, TestType
from models.vaccination import VaccinationRecord
from models.venue import Venue, VenueKind

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class SuiteLog(logging.Handler):
    """Every log line of the whole test run, as an operator would read it, checked at the
    end for what must never be logged: phone numbers, national IDs, insurance numbers,
    tokens and sign-in codes (see pytest_sessionfinish)."""

    PATTERNS = (
        re.compile(r"(?<![\w.])\+?\d{9,15}(?!\w)"),  # phones, CCCD, CMND
        re.compile(r"(?<!\w)[A-Z]{2}\d{13}(?!\w)"),  # health-insurance numbers
        re.compile(r"eyJ[\w-]{8,}"),  # JWTs
        re.compile(r"hg[pr]_[\w-]{8,}"),  # partner and refresh tokens
    )
    _PROCESS = re.compile(r'"process":\s*\d+')

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        from api.logs import JsonLines

        self.setFormatter(JsonLines())
        self.lines: list[str] = []
        # Values handed out during the run (sign-in codes) that no pattern describes.
        self.secrets: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def leaks(self, lines: list[str] | None = None) -> list[str]:
        found = []
        for line in self.lines if lines is None else lines:
            text = self._PROCESS.sub("", line)
            if any(p.search(text) for p in self.PATTERNS) or any(
                re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text) for v in self.secrets
            ):
                found.append(line)
        return found


SUITE_LOG = SuiteLog()


def pytest_sessionstart(session: pytest.Session) -> None:
    # As in production: INFO and up, SQL statements never.
    root = logging.getLogger()
    root.addHandler(SUITE_LOG)
    root.setLevel(logging.INFO)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = SUITE_LOG.leaks()
    if leaks:
        print(f"\n{len(leaks)} log line(s) carry an identifier, token or code:", *leaks[:20])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL server where test databases can be created."""
    configured = os.environ.get("HEALTHGRAPH_TEST_ADMIN_URL")
    if configured:
        return configured
    if _reachable("127.0.0.1", 5432):
        return LOCAL_ADMIN_URL
    return start_embedded_postgres(tmp_path_factory.mktemp("embedded"))


def _database_url(admin_url: str, name: str) -> str:
    base, _, query = admin_url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def _admin(admin_url: str, statement: str) -> None:
    engine = create_engine(
        sync_url(admin_url), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


@pytest.fixture(scope="session")
def database_factory(admin_url: str) -> Iterator[Any]:
    """Creates databases named for this run and drops them all at the end."""
    created: list[str] = []

    def create(label: str) -> str:
        name = f"hg_test_{os.getpid()}_{label}_{len(created)}"
        _admin(admin_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        return _database_url(admin_url, name)

    yield create
    for name in created:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def store_urls(database_factory: Any) -> StoreUrls:
    """One migrated database per store."""
    urls = StoreUrls(
        core=database_factory("core"),
        immunization=database_factory("immunization"),
        testing=database_factory("testing"),
    )
    migrate(urls)
    return urls


@pytest.fixture(scope="session")
def settings(store_urls: StoreUrls, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        core_database_url=store_urls.core,
        immunization_database_url=store_urls.immunization,
        testing_database_url=store_urls.testing,
        store_connect_timeout=2,
        # Generous, so that a machine under load does not fail tests of other things;
        # the tests of a slow store set their own.
        store_read_timeout=10,
        # Counted on every request, never reached by the suite's own traffic.
        rate_limit_per_token=1_000_000,
        rate_limit_per_address=1_000_000,
    )


@pytest.fixture(scope="session")
async def engines(store_urls: StoreUrls, settings: Settings) -> AsyncIterator[Engines]:
    engines = Engines(store_urls, settings)
    yield engines
    await engines.dispose()


_TRUNCATE = {
    Store.CORE: "TRUNCATE core.record_links, core.check_ins, core.citizen_identifiers, "
    "core.citizens, core.venues CASCADE",
    Store.IMMUNIZATION: "TRUNCATE immunization.vaccination_records",
    Store.TESTING: "TRUNCATE testing.samples, testing.labs CASCADE",
}


@pytest.fixture(autouse=True)
async def _empty_stores(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test that touches the stores starts from empty ones (the vaccine catalog stays)."""
    yield
    if "engines" not in request.fixturenames:
        return
    engines: Engines = request.getfixturevalue("engines")
    for store, statement in _TRUNCATE.items():
        async with engines[store].begin() as connection:
            await connection.execute(sa.text(statement))


@pytest.fixture(scope="session")
def issuer(settings: Settings) -> TokenIssuer:
    return TokenIssuer.from_settings(settings)


@pytest.fixture(scope="session")
def pass_issuer(settings: Settings) -> PassIssuer:
    """Signs with the same pass keys as the app under test."""
    return PassIssuer.from_settings(settings)


@pytest.fixture
async def client(
    settings: Settings, store_urls: StoreUrls, engines: Engines
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store_urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://healthgraph") as http:
            yield http


@pytest.fixture
def client_with(
    settings: Settings, store_urls: StoreUrls, engines: Engines, issuer: TokenIssuer
) -> Any:
    """An HTTP client of an app whose settings differ from the suite's by `changes`."""

    @asynccontextmanager
    async def client(
        address: str = "127.0.0.1", **changes: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=changes), store_urls)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://healthgraph") as h:
                yield h

    return client


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve app with uvicorn on a free local port, in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings, store_urls: StoreUrls) -> Iterator[str]:
    """The app behind a real HTTP server, for clients that are not Python."""
    with serving(create_app(settings, store_urls)) as url:
        yield url


def npm_install(folder: Path) -> Path:
    """`npm ci` in folder unless its lock file is already installed; returns node_modules."""
    modules = folder / "node_modules"
    installed = modules / ".package-lock.json"
    lock = folder / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            check=True,
            timeout=600,
        )
    return modules


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """The npm clients the suite drives (tests/clients), installed from its lock file."""
    folder = Path(__file__).resolve().parent / "clients"
    npm_install(folder)
    return folder


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, issuer: TokenIssuer) -> None:
        self.http = http
        self.issuer = issuer

    async def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        as_citizen: uuid.UUID | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {}
        if as_citizen is not None:
            token = self.issuer.issue(as_citizen)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def graphql(client: httpx.AsyncClient, issuer: TokenIssuer) -> GraphQLClient:
    return GraphQLClient(client, issuer)


class Given:
    """Writes the rows a test needs, as the stores' owners would."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._counter = 0

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    async def _insert(self, store: Store, table: Any, rows: list[dict[str, Any]]) -> None:
        async with self.engines[store].begin() as connection:
            await connection.execute(sa.insert(table.__table__), rows)

    async def citizen(
        self,
        *,
        phone: str | None = None,
        date_of_birth: date | None = date(1990, 5, 14),
        full_name: str = "Nguyễn Văn An",
        national_id: str | None = None,
        insurance_number: str | None = None,
        unverified: dict[str, str] | None = None,
        province_code: str = "24",
        without_phone: bool = False,
    ) -> uuid.UUID:
        """A citizen who signed in with a phone, or (without_phone) one a province office
        registered from their ID card."""
        number = self._next()
        citizen_id = uuid.uuid4()
        phone = None if without_phone else phone or f"09{number:08d}"
        await self._insert(
            Store.CORE,
            Citizen,
            [
                {
                    "id": citizen_id,
                    "full_name": full_name,
                    "date_of_birth": date_of_birth,
                    "phone": phone,
                    "province_code": province_code,
                    "created_at": datetime.now(UTC),
                }
            ],
        )
        identifiers = [(IdentifierKind.PHONE, phone, True)] if phone else []
        if national_id:
            identifiers.append((normalize_national_id(national_id)[0], national_id, True))
        if insurance_number:
            identifiers.append((IdentifierKind.BHYT, insurance_number, True))
        for kind, value in (unverified or {}).items():
            identifiers.append((IdentifierKind(kind), value, False))
        if not identifiers:
            return citizen_id
        await self._insert(
            Store.CORE,
            CitizenIdentifier,
            [
                {
                    "id": uuid.uuid4(),
                    "citizen_id": citizen_id,
                    "kind": kind.value,
                    "value": value,
                    "verified": verified,
                    "verified_by": "test" if verified else None,
                    "verified_at": datetime.now(UTC) if verified else None,
                }
                for kind, value, verified in identifiers
            ],
        )
        return citizen_id

    async def vaccination(
        self,
        *,
        vaccine_code: str = "AZD1222",
        dose_number: int = 1,
        administered_at: datetime | None = None,
        national_id: str | None = None,
        insurance_number: str | None = None,
        phone: str | None = None,
        date_of_birth: date | None = None,
        full_name: str = "Nguyễn Văn An",
        status: str = "VALID",
        province_code: str = "24",
    ) -> uuid.UUID:
        record_id = uuid.uuid4()
        number = self._next()
        # Each dose on its own day unless told: doses of one vaccine on one day are one dose.
        administered_at = administered_at or datetime(2021, 8, 1, 9, tzinfo=UTC) + timedelta(
            days=number
        )
        await self._record(
            RecordStore.IMMUNIZATION,
            VaccinationRecord,
            {
                "id": record_id,
                "source_system": "test-site",
                "source_record_id": f"v-{number}",
                "national_id": national_id,
                "insurance_number": insurance_number,
                "phone": phone,
                "full_name": full_name,
                "date_of_birth": date_of_birth,
                "vaccine_code": vaccine_code,
                "dose_number": dose_number,
                "administered_at": administered_at,
                "lot_number": "LOT-1",
                "site_name": "Trạm Y tế xã Tân Mỹ",
                "province_code": province_code,
                "status": status,
                "recorded_at": datetime.now(UTC),
                "source_updated_at": datetime.now(UTC),
            },
        )
        return record_id

    async def sample(
        self,
        *,
        test_type: TestType = TestType.RT_PCR,
        result: TestOutcome = TestOutcome.NEGATIVE,
        pooled: bool = False,
        collected_at: datetime | None = None,
        national_id: str | None = None,
        insurance_number: str | None = None,
        phone: str | None = None,
        date_of_birth: date | None = None,
        province_code: str = "24",
        full_name: str = "Nguyễn Văn An",
        pool_code: str | None = None,
        resulted_at: datetime | None = None,
    ) -> uuid.UUID:
        number = self._next()
        record_id = uuid.uuid4()
        collected = collected_at or datetime(2021, 9, 1, tzinfo=UTC) + timedelta(hours=number)
        await self._record(
            RecordStore.TESTING,
            Sample,
            {
                "id": record_id,
                "source_system": "test-lab",
                "source_record_id": f"s-{number}",
                "sample_code": f"S{number:06d}",
                "test_type": test_type.value,
                "pooled": pooled,
                "pool_code": (pool_code or f"P{number:05d}") if pooled else None,
                "collected_at": collected,
                "collection_site": "Điểm lấy mẫu phường Trần Phú",
                "lab_code": None,
                "result": result.value,
                "resulted_at": resulted_at
                or (None if result is TestOutcome.PENDING else collected + timedelta(hours=6)),
                "national_id": national_id,
                "insurance_number": insurance_number,
                "phone": phone,
                "full_name": full_name,
                "date_of_birth": date_of_birth,
                "province_code": province_code,
                "status": "VALID",
                "recorded_at": datetime.now(UTC),
                "source_updated_at": datetime.now(UTC),
            },
        )
        return record_id

    async def _record(self, store: RecordStore, table: Any, row: dict[str, Any]) -> None:
        """Write a record as its store's owner would, then match it as the service does."""
        await self._insert(Store(store.value), table, [row])
        identity = RecordIdentity.from_typed(
            row["national_id"],
            row["insurance_number"],
            row["phone"],
            row["date_of_birth"],
            row["full_name"],
        )
        occurred_at = row[OCCURRED_AT_COLUMN[store]]
        link = RecordToLink(row["id"], row["province_code"], identity, occurred_at)
        async with self.engines[Store.CORE].begin() as core:
            await link_records(core, store, [link])

    async def venue(
        self,
        kind: VenueKind = VenueKind.RESTAURANT,
        name: str = "Quán Phở Hà",
        province_code: str = "24",
        *,
        operator_id: uuid.UUID | None = None,
        closed: bool = False,
        district: str | None = None,
    ) -> uuid.UUID:
        venue_id = uuid.uuid4()
        await self._insert(
            Store.CORE,
            Venue,
            [
                {
                    "id": venue_id,
                    "code": f"VN-{self._next():06d}",
                    "name": name,
                    "kind": kind.value,
                    "province_code": province_code,
                    "address": None,
                    "operator_id": operator_id,
                    "created_at": datetime.now(UTC),
                    "closed_at": datetime.now(UTC) if closed else None,
                    "district": district,
                }
            ],
        )
        return venue_id

    async def venue_code(self, venue_id: uuid.UUID) -> str:
        table = Venue.__table__
        async with self.engines[Store.CORE].connect() as core:
            code = await core.scalar(sa.select(table.c.code).where(table.c.id == venue_id))
        return str(code)

    async def check_in_rows(self, **where: Any) -> list[Any]:
        """Every check-in (all columns) matching the column values given."""
        table = CheckIn.__table__
        query = sa.select(table).where(*(table.c[name] == value for name, value in where.items()))
        async with self.engines[Store.CORE].connect() as core:
            return list((await core.execute(query.order_by(table.c.checked_in_at))).all())

    async def check_ins(
        self,
        citizen_id: uuid.UUID,
        venue_id: uuid.UUID,
        count: int,
        *,
        start: datetime | None = None,
        declaration: dict[str, Any] | None = None,
    ) -> list[uuid.UUID]:
        start = start or datetime.now(UTC) - timedelta(days=10)
        declaration = declaration or {"fever": False, "cough": False}
        rows = [
            {
                "id": uuid.uuid4(),
                "checked_in_at": start + timedelta(minutes=37 * n),
                "citizen_id": citizen_id,
                "venue_id": venue_id,
                "method": CheckInMethod.APP_SCAN.value,
                "declaration": declaration,
                "created_at": datetime.now(UTC),
            }
            for n in range(count)
        ]
        async with self.engines[Store.CORE].begin() as core:
            last = (start + timedelta(minutes=37 * count)).date()
            await ensure_partitions(core, months_between(start.date(), last))
        if rows:
            await self._insert(Store.CORE, CheckIn, rows)
        return [row["id"] for row in rows]

    async def check_in(
        self,
        citizen_id: uuid.UUID | None,
        venue_id: uuid.UUID,
        at: datetime,
        *,
        method: CheckInMethod = CheckInMethod.APP_SCAN,
        insurance_number: str | None = None,
        trip_id: str | None = None,
    ) -> uuid.UUID:
        """One check-in at that instant; with no citizen, an unlinked staff scan."""
        check_in_id = uuid.uuid4()
        async with self.engines[Store.CORE].begin() as core:
            await ensure_partitions(core, months_between(at.date(), at.date()))
        row = {
            "id": check_in_id,
            "checked_in_at": at,
            "citizen_id": citizen_id,
            "venue_id": venue_id,
            "method": method.value,
            "declaration": None,
            "insurance_number": insurance_number,
            "trip_id": trip_id,
            "created_at": datetime.now(UTC),
        }
        await self._insert(Store.CORE, CheckIn, [row])
        return check_in_id


@pytest.fixture
def given(engines: Engines) -> Given:
    return Given(engines)


@pytest.fixture(scope="session")
def qr(settings: Settings) -> Any:
    """The signer of venue and personal QR codes, as the app under test has it."""
    from auth.qr import QrSigner

    return QrSigner.from_settings(settings)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# DELETE is far quicker than TRUNCATE on tables this small. The audit log is append-only
# and stays: tests read it per citizen, and every test has its own citizens.
_AUTH_TABLES = (
    "otp_challenges",
    "rate_limits",
    "refresh_tokens",
    "consents",
    "partner_tokens",
    "partners",
    "profile_claims",
    "persisted_queries",
)


@pytest.fixture(autouse=True)
async def _empty_auth_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Sign-in, partner, consent and audit rows do not outlive the test that made them."""
    yield
    if "engines" not in request.fixturenames:
        return
    engines: Engines = request.getfixturevalue("engines")
    async with engines[Store.CORE].begin() as connection:
        for table in _AUTH_TABLES:
            await connection.execute(sa.text(f"DELETE FROM core.{table}"))


class Partners:
    """Partner systems and the consents citizens give them."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._counter = 0

    async def create(
        self,
        *scopes: str,
        name: str | None = None,
        province_code: str | None = None,
        expires_at: datetime | None = None,
    ) -> Any:
        from auth import partners
        from auth.scopes import parse_scopes

        self._counter += 1
        async with self.engines[Store.CORE].begin() as core:
            return await partners.create(
                core,
                name or f"Partner {self._counter}",
                parse_scopes(scopes),
                province_code=province_code,
                expires_at=expires_at,
            )

    async def consent(
        self,
        citizen_id: uuid.UUID,
        partner_id: uuid.UUID,
        *scopes: str,
        expires_at: datetime | None = None,
    ) -> uuid.UUID:
        from models.consent import insert_consent

        async with self.engines[Store.CORE].begin() as core:
            return await insert_consent(
                core,
                citizen_id,
                partner_id,
                list(scopes),
                expires_at or datetime.now(UTC) + timedelta(days=30),
            )


@pytest.fixture
def partners(engines: Engines) -> Partners:
    return Partners(engines)


@pytest.fixture(scope="session")
def one_database_urls(database_factory: Any) -> StoreUrls:
    """The three stores in one migrated database, as a small deployment has them."""
    url = database_factory("one_database")
    urls = StoreUrls(core=url, immunization=url, testing=url)
    migrate(urls)
    return urls


@pytest.fixture(scope="session")
async def one_database_engines(
    one_database_urls: StoreUrls, settings: Settings
) -> AsyncIterator[Engines]:
    engines = Engines(one_database_urls, settings)
    yield engines
    await engines.dispose()


@dataclass
class World:
    """What a test writes through and reads from, for one layout of the stores."""

    given: Given
    partners: Partners
    graphql: GraphQLClient
    engines: Engines


@pytest.fixture
async def one_database(
    one_database_urls: StoreUrls,
    one_database_engines: Engines,
    settings: Settings,
    issuer: TokenIssuer,
) -> AsyncIterator[World]:
    """An app whose three stores share one database; emptied afterwards."""
    engines = one_database_engines
    app = create_app(settings, one_database_urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://healthgraph") as http:
            yield World(Given(engines), Partners(engines), GraphQLClient(http, issuer), engines)
    async with engines[Store.CORE].begin() as connection:
        for statement in _TRUNCATE.values():
            await connection.execute(sa.text(statement))
        for table in _AUTH_TABLES:
            await connection.execute(sa.text(f"DELETE FROM core.{table}"))


class SmsInbox:
    """Reads the sign-in codes the development sender writes to its outbox file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def last_code_for(self, phone: str) -> str:
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        for line in reversed(lines):
            found = re.search(rf" to {phone}: .*?\b(\d{{6}})\b", line)
            if found:
                SUITE_LOG.secrets.add(found.group(1))
                return found.group(1)
        raise AssertionError(f"no code was sent to {phone}")


@pytest.fixture
def sms_inbox(settings: Settings) -> SmsInbox:
    return SmsInbox(outbox_path(settings))


@pytest.fixture
def app_process(
    settings: Settings, store_urls: StoreUrls, engines: Engines, issuer: TokenIssuer
) -> Any:
    """Starts another app process (own engines, own settings) reached from a client address."""

    @asynccontextmanager
    async def start(address: str = "203.0.113.7", **changes: Any) -> AsyncIterator[GraphQLClient]:
        app = create_app(settings.model_copy(update=changes), store_urls)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://hg") as http:
                yield GraphQLClient(http, issuer)

    return start


_REQUEST_OTP = "mutation($phone: String!) { requestOtp(phone: $phone) { challenge { id } } }"
_VERIFY_OTP = """mutation($id: ID!, $code: String!) { verifyOtp(challengeId: $id, code: $code) {
  session { citizenId newCitizen accessToken refreshToken } userErrors { code } } }"""


@pytest.fixture
def sign_in(graphql: GraphQLClient, sms_inbox: SmsInbox) -> Any:
    """Signs a phone in through requestOtp and verifyOtp; returns the session."""

    async def run(phone: str = "0912345678") -> dict[str, Any]:
        from models.identifiers import normalize_phone

        requested = await graphql.query(_REQUEST_OTP, {"phone": phone})
        challenge_id = requested["data"]["requestOtp"]["challenge"]["id"]
        code = sms_inbox.last_code_for(normalize_phone(phone))
        verified = await graphql.query(_VERIFY_OTP, {"id": challenge_id, "code": code})
        return dict(verified["data"]["verifyOtp"]["session"])

    return run


REQUEST_PHONE_CODE = """mutation($id: ID!, $phone: String!) {
  requestCitizenPhoneCode(citizenId: $id, phone: $phone) {
    challenge { id phoneMasked codeLength expiresAt } alreadyAdded userErrors { field code } } }"""
CONFIRM_PHONE = """mutation($id: ID!, $code: String!) {
  confirmCitizenPhone(challengeId: $id, code: $code) {
    added accountJoined userErrors { field code message } } }"""


@pytest.fixture
def office_adds_phone(graphql: GraphQLClient, sms_inbox: SmsInbox) -> Any:
    """A province office gives a citizen a phone: it asks for a code, the person reads out
    the one their phone received, the office confirms it. Returns confirmCitizenPhone."""

    async def run(token: str, citizen_id: str, phone: str) -> dict[str, Any]:
        from models.identifiers import normalize_phone

        asked = await graphql.query(
            REQUEST_PHONE_CODE, {"id": citizen_id, "phone": phone}, token=token
        )
        challenge = asked["data"]["requestCitizenPhoneCode"]["challenge"]
        assert challenge is not None, asked
        code = sms_inbox.last_code_for(normalize_phone(phone))
        confirmed = await graphql.query(
            CONFIRM_PHONE, {"id": challenge["id"], "code": code}, token=token
        )
        return dict(confirmed["data"]["confirmCitizenPhone"])

    return run


class AppServer:
    """An app process of its own (uvicorn on a free port) over the test stores."""

    def __init__(self, process: Any, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def query(
        self, document: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.http_url, timeout=10) as http:
            response = await http.post(
                "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
            )
        assert response.status_code == 200, response.text
        return dict(response.json())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def app_servers(settings: Settings, store_urls: StoreUrls, tmp_path_factory: Any) -> Iterator[Any]:
    """Starts real app processes on their own ports; all are stopped after the module."""
    import subprocess
    import sys
    import time

    started: list[AppServer] = []

    def start(count: int = 1, **environment: str) -> list[AppServer]:
        servers = []
        for _ in range(count):
            port = _free_port()
            log_path = tmp_path_factory.mktemp("server") / "uvicorn.log"
            env = {
                **os.environ,
                "HEALTHGRAPH_CORE_DATABASE_URL": store_urls.core,
                "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": store_urls.immunization,
                "HEALTHGRAPH_TESTING_DATABASE_URL": store_urls.testing,
                # The same signing keys as the tests' token issuer.
                "HEALTHGRAPH_DATA_DIR": str(settings.data_dir),
                "HEALTHGRAPH_STORE_POOL_SIZE": "3",
                **environment,
            }
            command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            server = AppServer(process, port, log_path)
            started.append(server)
            servers.append(server)
        for server in servers:
            deadline = time.monotonic() + 120
            while True:
                assert server.process.poll() is None, server.log_path.read_text()
                try:
                    if httpx.get(f"{server.http_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the app process did not start"
                time.sleep(0.1)
        return servers

    yield start
    for server in started:
        server.process.terminate()
    for server in started:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


class LiveSocket:
    """A graphql-transport-ws client over a real websocket."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator["LiveSocket"]:
        from websockets.asyncio.client import connect

        async with connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
            yield cls(connection)

    async def send(self, message: dict[str, Any]) -> None:
        import json

        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        import asyncio
        import json

        return dict(json.loads(await asyncio.wait_for(self.connection.recv(), timeout)))

    async def init(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str, operation_id: str = "1") -> None:
        await self.send({"id": operation_id, "type": "subscribe", "payload": {"query": query}})

    async def closed_with(self, timeout: float = 10) -> tuple[int | None, str]:
        """Waits for the server to close the socket; its close code and reason."""
        import asyncio

        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed as closed:
            received = closed.rcvd
            return (received.code, received.reason) if received else (None, "")


@pytest.fixture
def live_socket() -> Any:
    return LiveSocket.open


@pytest.fixture
def healthgraph(settings: Settings, store_urls: StoreUrls) -> Any:
    """Runs the `healthgraph` program on the test stores; returns (exit code, stdout, stderr)."""
    program = Path(sys.executable).parent / "healthgraph"
    env = {
        **os.environ,
        "HEALTHGRAPH_CORE_DATABASE_URL": store_urls.core,
        "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": store_urls.immunization,
        "HEALTHGRAPH_TESTING_DATABASE_URL": store_urls.testing,
        "HEALTHGRAPH_DATA_DIR": str(settings.data_dir),
    }

    async def run(*args: str, **variables: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            str(program),
            *args,
            env={**env, **{f"HEALTHGRAPH_{name.upper()}": v for name, v in variables.items()}},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    return run
