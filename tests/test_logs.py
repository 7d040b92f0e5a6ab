"""Logs are for operators: one JSON line per request, client mistakes are not errors,
and no line carries a phone number, an ID, a token or a sign-in code. The access log's
lines reach the stream in batches of whole lines, within half a second."""

import json
import logging
import re
import select
import time
import weakref

import pytest
import sqlalchemy as sa

from api.logs import BatchedLines, JsonLines
from models.stores import Store
from tests.conftest import SUITE_LOG

DASHBOARD = "query Dashboard { me { fullName vaccinations { id } } }"
REQUEST_OTP = """mutation Ask($phone: String!) { requestOtp(phone: $phone) {
  challenge { id } userErrors { code } } }"""


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "healthgraph.request"]


def formatted(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(JsonLines().format(record) for record in caplog.records)


async def test_each_request_writes_one_json_line_with_the_request_id_it_answers_with(
    graphql, given, caplog
):
    caplog.set_level(logging.INFO)
    citizen = await given.citizen()

    response = await graphql.http.post(
        "/graphql",
        json={"query": DASHBOARD},
        headers={"authorization": f"Bearer {graphql.issuer.issue(citizen)}"},
    )

    [line] = request_lines(caplog)
    parsed = json.loads(JsonLines().format(line))
    assert response.headers["x-request-id"] == parsed["request_id"]
    assert {k: parsed[k] for k in ("level", "operation", "operation_type", "principal")} == {
        "level": "INFO",
        "operation": "Dashboard",
        "operation_type": "query",
        "principal": "citizen",
    }
    assert (parsed["status"], parsed["outcome"], parsed["error_codes"]) == (200, "ok", [])
    assert parsed["duration_ms"] > 0


@pytest.mark.parametrize(
    ("document", "authorization", "code"),
    [
        ('query Mine { me { fullName } } # "0912000001"', None, "UNAUTHENTICATED"),
        (
            "query Mine { me { fullName } }",
            "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl",
            "UNAUTHENTICATED",
        ),
        ('{ venue(code: "024090001234") { nam } }', None, "BAD_USER_INPUT"),
        ("{ me { fullName ", None, "BAD_USER_INPUT"),
    ],
)
async def test_a_client_mistake_is_info_without_a_traceback_or_what_was_typed(
    client, caplog, document, authorization, code
):
    caplog.set_level(logging.INFO)
    headers = {"authorization": authorization} if authorization else {}

    body = (await client.post("/graphql", json={"query": document}, headers=headers)).json()

    assert body["errors"]
    assert all(record.levelno == logging.INFO for record in caplog.records)
    assert not any(record.exc_info for record in caplog.records)
    [line] = request_lines(caplog)
    assert line.outcome == code
    text = formatted(caplog)
    assert not SUITE_LOG.leaks(text.splitlines())
    assert "me { fullName" not in text and "venue" not in text


async def test_a_refused_rate_is_a_warning_naming_only_the_operation(app_process, caplog):
    caplog.set_level(logging.INFO)
    async with app_process(otp_requests_per_phone=1) as graphql:
        await graphql.query(REQUEST_OTP, {"phone": "0912345678"})
        refused = await graphql.query(REQUEST_OTP, {"phone": "0912345678"})

    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    lines = request_lines(caplog)
    assert [(r.levelname, r.outcome, r.operation) for r in lines] == [
        ("INFO", "ok", "Ask"),
        ("WARNING", "RATE_LIMITED", "Ask"),
    ]
    assert "0912345678" not in formatted(caplog)


async def test_an_internal_fault_is_logged_without_the_statements_parameters(engines):
    async with engines[Store.CORE].connect() as core:
        with pytest.raises(sa.exc.DBAPIError) as raised:
            await core.execute(
                sa.text("SELECT CAST(CAST(:phone AS text) AS integer)"), {"phone": "0912000001x"}
            )
    error = raised.value
    record = logging.LogRecord(
        "healthgraph.errors", logging.ERROR, __file__, 1, "internal error at %s", (["me"],), None
    )
    record.exc_info = (type(error), error, error.__traceback__)

    line = JsonLines().format(record)

    assert "0912000001x" in str(error)  # the exception's own text would have leaked it
    assert "0912000001x" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "ERROR"
    assert "InvalidTextRepresentationError [22P02]" in parsed["exc_info"]
    assert "CAST" not in parsed["exc_info"]
    assert re.search(r"at .*test_logs\.py:\d+ in test_an_internal_fault", parsed["exc_info"])


def test_the_suite_log_check_finds_identifiers_tokens_and_codes():
    leaking = [
        '{"message": "sign-in code for 0912345678"}',
        '{"message": "CCCD 024090001234 claimed"}',
        '{"message": "BHYT DN4010012345678"}',
        '{"message": "Bearer eyJhbGciOiJFUzI1NiJ9.e30"}',
        '{"message": "refresh hgr_abcdefghijklmnop"}',
    ]
    clean = ['{"message": "POST /graphql 200", "process": 1234567890, "duration_ms": 12.5}']

    assert SUITE_LOG.leaks(leaking + clean) == leaking


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("req-42", True), ("b7e1:9f.2_A", True), ("a" * 65, False), ("x y", False), ("a;b", False)],
)
async def test_a_callers_request_id_is_kept_only_when_short_and_plain(client, offered, kept):
    response = await client.get("/healthz", headers={"x-request-id": offered})

    returned = response.headers["x-request-id"]
    assert (returned == offered) is kept
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", returned)


class Writes:
    """A stream that remembers each write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


def batched_to(stream: Writes, interval: float = 60) -> BatchedLines:
    handler = BatchedLines(stream, batched=["healthgraph.request"], interval=interval)
    handler.setFormatter(JsonLines())
    return handler


def line_of(name: str = "healthgraph.request", level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, "POST /graphql 200", None, None)


def test_access_lines_are_written_together_within_the_interval():
    stream = Writes()
    handler = batched_to(stream, interval=0.05)

    for _ in range(3):
        handler.handle(line_of())
    kept = list(stream.writes)
    deadline = time.monotonic() + 5
    while not stream.writes and time.monotonic() < deadline:
        time.sleep(0.01)
    handler.close()

    assert kept == []
    [written] = stream.writes
    assert [json.loads(line)["logger"] for line in written.splitlines()] == [
        "healthgraph.request"
    ] * 3


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("healthgraph.request", logging.WARNING),
        ("healthgraph.request", logging.ERROR),
        ("uvicorn.error", logging.INFO),
    ],
)
def test_a_warning_or_another_loggers_line_is_written_at_once_after_the_kept_ones(name, level):
    stream = Writes()
    handler = batched_to(stream)

    handler.handle(line_of())
    handler.handle(line_of(name, level))

    [written] = stream.writes
    assert [json.loads(line)["logger"] for line in written.splitlines()] == [
        "healthgraph.request",
        name,
    ]
    handler.close()


def test_kept_lines_are_written_when_logging_shuts_down():
    stream = Writes()
    handler = batched_to(stream)
    handler.handle(line_of())

    logging.shutdown([weakref.ref(handler)])

    assert len("".join(stream.writes).splitlines()) == 1


def test_each_write_holds_whole_lines_and_no_more_than_a_pipe_writes_at_once():
    stream = Writes()
    handler = batched_to(stream)

    for _ in range(100):
        handler.handle(line_of())
    handler.close()

    assert len(stream.writes) > 1
    assert all(w.endswith("\n") and len(w.encode()) <= select.PIPE_BUF for w in stream.writes)
    assert len("".join(stream.writes).splitlines()) == 100
