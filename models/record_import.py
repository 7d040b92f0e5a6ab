"""`healthgraph import`: a platform's export, line by line, into the one record writer.

Lines become the same VaccinationInput / SampleInput a partner's mutation
builds, pass the same validation, and are written in batches by
models.records (COPY into staging, one upsert, matching). A line that is
refused goes to a reject file beside the input with its line number and the
reason; nothing is dropped silently. Each batch commits on its own, and a
record already stored is UNCHANGED when it arrives again, so an import that
was interrupted and is run again ends as if it had run once.
"""

import asyncio
import csv
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.health_status import PassRules
from models.record_files import FileProblem, Line, Table, read_table
from models.record_validation import (
    Catalog,
    Problem,
    ProblemCode,
    SampleInput,
    VaccinationInput,
    ValidRecord,
    load_catalog,
    validate_sample,
    validate_vaccination,
)
from models.records import (
    SAMPLES,
    VACCINATIONS,
    Outcome,
    RecordKind,
    Writer,
    WriteSummary,
    write_records,
)
from models.stores import Engines, Store

DEFAULT_BATCH = 10_000
WRITING = 2
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


class _Unreadable(ValueError):
    pass


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _integer(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise _Unreadable("not a whole number")
        return int(value)
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise _Unreadable("not a whole number") from None


def _day_first(text: str) -> datetime | None:
    found = _DMY.fullmatch(text)
    if found is None:
        return None
    day, month, year, hour, minute, second = found.groups()
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
    )


def _moment(value: Any) -> datetime | None:
    """ISO 8601 (a zone is kept; without one, Vietnam's time), or dd/mm/yyyy [hh:mm[:ss]]."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = _day_first(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _Unreadable("not a date and time (2021-08-01T09:30+07:00 or 01/08/2021 09:30)")
    return parsed


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = _day_first(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _Unreadable("not a date (1990-05-14 or 14/05/1990)")
    return parsed.date()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y", "x"):
        return True
    raise _Unreadable("not yes/no (true, false, 1, 0 or empty)")


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = False
    help: str = ""


def _person_columns() -> tuple[Column, ...]:
    return (
        Column("source_record_id", _text, True, "the record's ID in the platform"),
        Column("updated_at", _moment, True, "when the platform last changed the record"),
        Column("full_name", _text, True),
        Column("date_of_birth", _day),
        Column("national_id", _text, help="12-digit CCCD or 9-digit CMND, as typed"),
        Column("insurance_number", _text, help="15-character BHYT number, as typed"),
        Column("phone", _text, help="as typed; pre-2018 11-digit numbers are read"),
        Column("province_code", _text, True, "2-digit province code"),
        Column("entered_in_error", _flag, help="true marks the record void"),
    )


@dataclass(frozen=True)
class ImportKind:
    name: str
    kind: RecordKind
    columns: tuple[Column, ...]
    build: Callable[..., VaccinationInput | SampleInput]
    validate: Callable[..., ValidRecord | list[Problem]]
    default_source: str

    @property
    def header(self) -> list[str]:
        """Every column an export of this kind may have, in the README's order."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


IMMUNIZATION = ImportKind(
    "immunization",
    VACCINATIONS,
    (
        *_person_columns(),
        Column("vaccine_code", _text, True, "a code of the vaccine catalog, e.g. AZD1222"),
        Column("dose_number", _integer, True),
        Column("administered_at", _moment, True),
        Column("lot_number", _text),
        Column("site_name", _text, True),
    ),
    VaccinationInput,
    validate_vaccination,
    "tiemchungcovid19",
)
TESTING = ImportKind(
    "testing",
    SAMPLES,
    (
        *_person_columns(),
        Column("sample_code", _text, True),
        Column("test_type", _text, True, "RT_PCR or RAPID_ANTIGEN"),
        Column("pool_code", _text, help="the pooled tube, if any"),
        Column("collected_at", _moment, True),
        Column("collection_site", _text, True),
        Column("lab_code", _text, help="required with an RT-PCR result"),
        Column("result", _text, help="PENDING (or empty), NEGATIVE, POSITIVE, INCONCLUSIVE"),
        Column("resulted_at", _moment, help="required with a result"),
    ),
    SampleInput,
    validate_sample,
    "xetnghiemcovid",
)
KINDS = {IMMUNIZATION.name: IMMUNIZATION, TESTING.name: TESTING}


def parse_line(kind: ImportKind, line: Line) -> VaccinationInput | SampleInput | list[Problem]:
    """The line as the same input a mutation builds, or what makes it unreadable."""
    if line.broken is not None:
        return [Problem("line", ProblemCode.INVALID_VALUE, line.broken)]
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for column in kind.columns:
        try:
            value = column.parse(line.cells.get(column.name))
        except _Unreadable as error:
            problems.append(Problem(column.name, ProblemCode.INVALID_VALUE, str(error)))
            continue
        if value is None:
            if column.required:
                problems.append(Problem(column.name, ProblemCode.REQUIRED, "required"))
            continue
        values[column.name] = value
    if problems:
        return problems
    return kind.build(**values)


def check_columns(kind: ImportKind, table: Table, path: Path) -> None:
    missing = [name for name in kind.required if name not in table.columns]
    if missing:
        raise FileProblem(
            f"{path.name} lacks the column(s) {', '.join(missing)} "
            f"(a {kind.name} export needs {', '.join(kind.required)})"
        )
    doubled = sorted({c for c in table.columns if c and table.columns.count(c) > 1})
    if doubled:
        raise FileProblem(f"{path.name} names the column(s) {', '.join(doubled)} twice")


def reject_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


class RejectFile:
    """Refused lines, beside the input: line number, record ID, field, code and reason.
    Created on the first refusal; an older one from a previous run is replaced."""

    def __init__(self, path: Path) -> None:
        self.path = reject_path(path)
        self.path.unlink(missing_ok=True)
        self._file: TextIO | None = None
        self._writer: Any = None
        self.lines = 0

    def add(self, line: int, source_record_id: str | None, problems: list[Problem]) -> None:
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "source_record_id", "field", "code", "reason"])
        self.lines += 1
        for problem in problems:
            self._writer.writerow(
                [line, source_record_id or "", problem.field, problem.code.value, problem.message]
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass
class ImportSummary:
    written: WriteSummary = field(default_factory=WriteSummary)
    rejected: int = 0
    reject_file: Path | None = None

    def count(self, outcome: Outcome) -> int:
        return self.written.counts[outcome]


@dataclass
class _Batch:
    valid: list[tuple[int, ValidRecord]] = field(default_factory=list)
    refused: list[tuple[int, str | None, list[Problem]]] = field(default_factory=list)
    lines: int = 0


def _batches(
    kind: ImportKind, lines: Iterator[Line], catalog: Catalog, size: int
) -> Iterator[_Batch]:
    batch = _Batch()
    for line in lines:
        batch.lines += 1
        parsed = parse_line(kind, line)
        checked = parsed if isinstance(parsed, list) else kind.validate(parsed, catalog)
        if isinstance(checked, list):
            record_id = _text(line.cells.get("source_record_id"))
            batch.refused.append((line.number, record_id, checked))
        else:
            batch.valid.append((line.number, checked))
        if batch.lines >= size:
            yield batch
            batch = _Batch()
    if batch.lines:
        yield batch


_SEEN = "import_seen"


async def _duplicates(
    seen: AsyncConnection, valid: list[tuple[int, ValidRecord]]
) -> dict[int, int]:
    """Lines whose record ID an earlier line of the file already had, with that line.
    The IDs seen so far live in a temporary table, so memory stays flat."""
    first: dict[str, int] = {}
    doubled: dict[int, int] = {}
    for number, record in valid:
        key = record.values["source_record_id"]
        if key in first:
            doubled[number] = first[key]
        else:
            first[key] = number
    if first:
        earlier = await seen.execute(
            sa.text(
                f"SELECT s.source_record_id, s.line FROM {_SEEN} s "
                "WHERE s.source_record_id = ANY(:ids)"
            ),
            {"ids": list(first)},
        )
        for key, line in earlier.all():
            doubled[first.pop(key)] = line
        await seen.execute(
            sa.text(
                f"INSERT INTO {_SEEN} (source_record_id, line) "
                "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:lines AS int[]))"
            ),
            {"ids": list(first), "lines": list(first.values())},
        )
    return doubled


Progress = Callable[[int], None]


async def import_file(
    engines: Engines,
    kind: ImportKind,
    path: Path,
    *,
    source_system: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    on_table: Callable[[Table], None] | None = None,
    on_progress: Progress | None = None,
    pass_rules: PassRules | None = None,
) -> ImportSummary:
    """Import one export; raises FileProblem (before writing anything) for a file that
    cannot be imported at all."""
    table = read_table(path)
    check_columns(kind, table, path)
    if on_table is not None:
        on_table(table)
    store = kind.kind.database
    async with engines[store].connect() as connection:
        catalog = await load_catalog(
            immunization=connection if store is Store.IMMUNIZATION else None,
            testing=connection if store is Store.TESTING else None,
        )
    writer = Writer(source_system or kind.default_source, bulk=True, pass_rules=pass_rules)
    summary = ImportSummary()
    rejects = RejectFile(path)
    batches = _batches(kind, table.lines, catalog, batch_size)
    upcoming: asyncio.Future[_Batch | None] = asyncio.get_running_loop().create_future()
    upcoming.set_result(None)
    writing: deque[asyncio.Task[None]] = deque()
    try:
        async with engines[store].connect() as seen:
            # The connection comes from the pool: an earlier import's table may be there.
            await seen.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{_SEEN}"))
            await seen.execute(
                sa.text(f"CREATE TEMP TABLE {_SEEN} (source_record_id text PRIMARY KEY, line int)")
            )
            await seen.commit()
            # The next batch is read and checked while earlier ones are written, and up to
            # WRITING batches are written at once (while one is matched in the core store,
            # the next is upserted in the record store). Batches never share a record: a
            # record ID seen on an earlier line is refused before its batch is written.
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            while (batch := await upcoming) is not None:
                upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
                valid = await _admit(seen, batch, rejects)
                writing.append(asyncio.create_task(_write(engines, kind, writer, valid, summary)))
                while writing and (len(writing) >= WRITING or writing[0].done()):
                    await writing.popleft()
                    if on_progress is not None:
                        on_progress(table.read)
            while writing:
                await writing.popleft()
            if on_progress is not None:
                on_progress(table.read)
    finally:
        if not upcoming.done():
            upcoming.cancel()
        for task in writing:
            task.cancel()
        if writing:
            await asyncio.gather(*writing, return_exceptions=True)
        rejects.close()
    summary.rejected = rejects.lines
    summary.reject_file = rejects.path if rejects.lines else None
    return summary


async def _admit(seen: AsyncConnection, batch: _Batch, rejects: RejectFile) -> list[ValidRecord]:
    """The batch's records to write; the refused lines go to the reject file."""
    doubled = await _duplicates(seen, batch.valid)
    await seen.commit()
    refused = list(batch.refused)
    valid: list[ValidRecord] = []
    for number, record in batch.valid:
        if number in doubled:
            problem = Problem(
                "source_record_id",
                ProblemCode.INVALID_VALUE,
                f"the same record ID is on line {doubled[number]} of this file",
            )
            refused.append((number, record.values["source_record_id"], [problem]))
        else:
            valid.append(record)
    for number, record_id, problems in sorted(refused, key=lambda r: r[0]):
        rejects.add(number, record_id, problems)
    return valid


async def _write(
    engines: Engines,
    kind: ImportKind,
    writer: Writer,
    valid: list[ValidRecord],
    summary: ImportSummary,
) -> None:
    summary.written.add(await write_records(engines, kind.kind, writer, valid))
