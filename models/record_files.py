"""Reading the platforms' exports: CSV (streamed) and Excel workbooks (python-calamine).

A file becomes a header and numbered lines of raw cells; turning cells into
records is models.record_import's job. What makes a whole file unreadable
(a broken encoding, no header) raises FileProblem before anything is written.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CSV_SUFFIXES = (".csv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_SCAN_CHUNK = 1 << 20
# How often a CSV's progress (bytes read) is updated: asking the file costs a system call.
_PROGRESS_LINES = 1024


class FileProblem(ValueError):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass(frozen=True)
class Line:
    number: int
    cells: dict[str, Any]
    # Set when the line cannot be read as a record at all (e.g. a field too many).
    broken: str | None = None


@dataclass
class Table:
    columns: list[str]
    lines: Iterator[Line]
    # Rows in a workbook; for a CSV, its size in bytes (progress counts bytes read then).
    total: int
    unit: str
    read: int = 0


def _header(raw: list[Any]) -> list[str]:
    return [str(cell).strip().lower() if cell is not None else "" for cell in raw]


def _check_encoding(path: Path) -> None:
    """Fail before anything is written, naming the first line that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as file:
        while chunk := file.read(_SCAN_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_line = line + chunk[: error.start].count(b"\n")
                raise FileProblem(
                    f"{path.name} is not UTF-8 text (line {bad_line} has a byte that is not): "
                    "export it again as CSV UTF-8"
                ) from error
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise FileProblem(f"{path.name} ends in the middle of a character") from error


def read_csv(path: Path) -> Table:
    _check_encoding(path)
    binary = path.open("rb")
    file = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(file)
    try:
        header = _header(next(reader))
    except StopIteration:
        file.close()
        raise FileProblem(f"{path.name} is empty: the first line must name the columns") from None
    table = Table(header, iter(()), total=path.stat().st_size, unit="bytes")

    def lines() -> Iterator[Line]:
        with file:
            for raw in reader:
                if not reader.line_num % _PROGRESS_LINES:
                    table.read = binary.tell()
                if not "".join(raw).strip():
                    continue
                broken = None
                if len(raw) != len(header):
                    broken = f"has {len(raw)} fields where the header names {len(header)}"
                yield Line(reader.line_num, dict(zip(header, raw, strict=False)), broken)
            table.read = table.total

    table.lines = lines()
    return table


def read_workbook(path: Path) -> Table:
    """The first sheet of a workbook; the first row names the columns."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as error:
        raise FileProblem(f"{path.name} is not a readable workbook ({error})") from error
    rows = sheet.iter_rows()
    try:
        header = _header(next(rows))
    except StopIteration:
        raise FileProblem(f"{path.name} is empty: the first row must name the columns") from None
    table = Table(header, iter(()), total=max(sheet.height - 1, 0), unit="rows")

    def lines() -> Iterator[Line]:
        for number, raw in enumerate(rows, start=2):
            table.read += 1
            if all(cell is None or str(cell).strip() == "" for cell in raw):
                continue
            yield Line(number, dict(zip(header, raw, strict=False)))

    table.lines = lines()
    return table


def read_table(path: Path) -> Table:
    if not path.is_file():
        raise FileProblem(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return read_workbook(path)
    if suffix in CSV_SUFFIXES:
        return read_csv(path)
    raise FileProblem(
        f"{path.name}: give a .csv file or an Excel workbook ({', '.join(WORKBOOK_SUFFIXES)})"
    )
