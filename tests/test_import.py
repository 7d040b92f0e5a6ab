"""`healthgraph import`: platform exports go through the same validation and writer."""

import csv
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from models.record_files import FileProblem
from models.record_import import IMMUNIZATION, TESTING, import_file, reject_path
from models.records import Outcome
from models.stores import Store

HEADER = IMMUNIZATION.header


def dose_line(number: int, **changes: Any) -> dict[str, Any]:
    line = {
        "source_record_id": f"TC-24-{number:06d}",
        "updated_at": "2021-08-01T10:00:00+07:00",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-14",
        "national_id": "",
        "insurance_number": "",
        "phone": "",
        "vaccine_code": "AZD1222",
        "dose_number": "1",
        "administered_at": "01/08/2021 09:30",
        "lot_number": "NX1234",
        "site_name": "Trạm Y tế xã Tân Mỹ",
        "province_code": "24",
    }
    return line | changes


def write_csv(path: Path, lines: list[dict[str, Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(lines)
    return path


async def snapshot(engines: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import leaves behind, in a stable order."""
    async with engines[Store.IMMUNIZATION].connect() as immunization:
        records = (
            await immunization.execute(
                sa.text(
                    "SELECT id, source_system, source_record_id, source_updated_at, national_id, "
                    "phone, full_name, date_of_birth, vaccine_code, dose_number, "
                    "administered_at, status, recorded_at FROM vaccination_records "
                    "ORDER BY source_record_id"
                )
            )
        ).all()
    async with engines[Store.CORE].connect() as core:
        links = (
            await core.execute(
                sa.text(
                    "SELECT record_id, citizen_id, status, method, reason, matched_at "
                    "FROM core.record_links ORDER BY record_id"
                )
            )
        ).all()
    return {"records": list(records), "links": list(links)}


def without_ids_and_times(state: dict[str, list[tuple[Any, ...]]]) -> Any:
    """What must be equal between two separate runs (IDs and write times differ)."""
    records = sorted(tuple(r[1:12]) for r in state["records"])
    by_id = {r[0]: r[2] for r in state["records"]}
    links = sorted((by_id[link[0]], *link[1:5]) for link in state["links"])
    return records, links


async def test_a_csv_export_is_imported_and_matched(tmp_path, engines, given, graphql):
    an = await given.citizen(national_id="024090004512")
    binh = await given.citizen(phone="0332345678", full_name="Trần Thị Bình")
    path = write_csv(
        tmp_path / "doses.csv",
        [
            dose_line(1, national_id="0240 9000 4512"),
            dose_line(2, national_id="024090004512", dose_number="2", administered_at="22/10/2021"),
            # A pre-2018 11-digit phone, renumbered 0163 → 033.
            dose_line(3, phone="01632345678", full_name="TRAN THI BINH"),
            dose_line(4, national_id="079199912345"),
        ],
    )

    summary = await import_file(engines, IMMUNIZATION, path)

    assert summary.count(Outcome.INSERTED) == 4 and summary.rejected == 0
    assert (summary.written.linked, summary.written.queued) == (3, 1)
    assert not reject_path(path).exists()
    doses = """{ me { vaccinations { doseNumber } } }"""
    mine = (await graphql.query(doses, as_citizen=an))["data"]["me"]["vaccinations"]
    assert [v["doseNumber"] for v in mine] == [1, 2]
    binhs = (await graphql.query(doses, as_citizen=binh))["data"]["me"]["vaccinations"]
    assert len(binhs) == 1


async def test_importing_the_same_file_twice_changes_nothing(tmp_path, engines, given):
    await given.citizen(national_id="024090004512")
    lines = [dose_line(n, national_id="024090004512", dose_number=str(n)) for n in (1, 2, 3)]
    path = write_csv(tmp_path / "doses.csv", [*lines, dose_line(9, national_id="0240")])
    await import_file(engines, IMMUNIZATION, path)
    before = await snapshot(engines)

    again = await import_file(engines, IMMUNIZATION, path)

    assert again.count(Outcome.UNCHANGED) == 3 and again.count(Outcome.INSERTED) == 0
    assert (again.written.linked, again.written.queued, again.rejected) == (0, 0, 1)
    assert await snapshot(engines) == before


async def test_a_newer_export_updates_what_changed_and_ignores_older_versions(tmp_path, engines):
    first = write_csv(tmp_path / "monday.csv", [dose_line(1), dose_line(2)])
    await import_file(engines, IMMUNIZATION, first)
    later = write_csv(
        tmp_path / "tuesday.csv",
        [
            dose_line(1, updated_at="2021-08-02T10:00:00+07:00", lot_number="NX9999"),
            dose_line(2, updated_at="2021-07-30T10:00:00+07:00", lot_number="OLD"),
            dose_line(3),
        ],
    )

    summary = await import_file(engines, IMMUNIZATION, later)

    assert {o: summary.count(o) for o in (Outcome.UPDATED, Outcome.STALE, Outcome.INSERTED)} == {
        Outcome.UPDATED: 1,
        Outcome.STALE: 1,
        Outcome.INSERTED: 1,
    }


def read_rejects(path: Path) -> list[tuple[str, str, str]]:
    with reject_path(path).open(encoding="utf-8") as file:
        return [(row["line"], row["field"], row["code"]) for row in csv.DictReader(file)]


async def test_broken_lines_are_rejected_with_their_line_numbers(tmp_path, engines):
    path = tmp_path / "doses.csv"
    write_csv(
        path,
        [
            dose_line(1),
            dose_line(2, dose_number="-1"),
            dose_line(3, administered_at="2031-03-01 09:00"),
            dose_line(4, national_id="02409000"),
            dose_line(5, vaccine_code="COVAXIN"),
            dose_line(6, administered_at="yesterday"),
            dose_line(7, site_name=""),
            dose_line(8, phone="(+84) 912-345-678"),
        ],
    )
    with path.open("a", encoding="utf-8") as file:
        file.write("TC-24-000010,2021-08-01,Lê Văn C,1990-01-01,,,,AZD1222,1\n")

    summary = await import_file(engines, IMMUNIZATION, path)

    assert summary.count(Outcome.INSERTED) == 2 and summary.rejected == 7
    assert read_rejects(path) == [
        ("3", "dose_number", "DOSE_OUT_OF_RANGE"),
        ("4", "administered_at", "DATE_IN_FUTURE"),
        ("5", "national_id", "INVALID_IDENTIFIER"),
        ("6", "vaccine_code", "UNKNOWN_VACCINE"),
        ("7", "administered_at", "INVALID_VALUE"),
        ("8", "site_name", "REQUIRED"),
        ("10", "line", "INVALID_VALUE"),
    ]


async def test_a_file_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path, engines):
    path = write_csv(tmp_path / "doses.csv", [dose_line(1), dose_line(2)])
    with path.open("ab") as file:
        file.write("TC-24-000003,2021-08-01,Lê Văn Dũng\n".encode("cp1258", "replace"))

    with pytest.raises(FileProblem, match="not UTF-8 text \\(line 4"):
        await import_file(engines, IMMUNIZATION, path)

    assert (await snapshot(engines))["records"] == []


async def test_a_file_without_the_required_columns_is_refused_naming_them(tmp_path, engines):
    header = [c for c in HEADER if c not in ("vaccine_code", "dose_number")]
    path = write_csv(tmp_path / "doses.csv", [dose_line(1)], header)

    with pytest.raises(FileProblem, match="lacks the column\\(s\\) vaccine_code, dose_number"):
        await import_file(engines, IMMUNIZATION, path)


async def test_a_record_id_twice_in_one_file_is_rejected_naming_the_first_line(tmp_path, engines):
    path = write_csv(
        tmp_path / "doses.csv",
        [dose_line(1), dose_line(2), dose_line(3), dose_line(1, lot_number="X"), dose_line(2)],
    )

    summary = await import_file(engines, IMMUNIZATION, path, batch_size=2)

    assert summary.count(Outcome.INSERTED) == 3 and summary.rejected == 2
    with reject_path(path).open(encoding="utf-8") as file:
        reasons = [(row["line"], row["reason"]) for row in csv.DictReader(file)]
    assert reasons == [
        ("5", "the same record ID is on line 2 of this file"),
        ("6", "the same record ID is on line 3 of this file"),
    ]


async def test_a_workbook_is_imported_like_a_csv(tmp_path, engines, given):
    from openpyxl import Workbook

    citizen = await given.citizen(national_id="024090004512")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    rows: list[dict[str, Any]] = [
        {
            "source_record_id": "TC-1",
            "updated_at": datetime(2021, 8, 1, 10),
            "full_name": "Nguyễn Văn An",
            "date_of_birth": date(1990, 5, 14),
            "national_id": "024090004512",
            "vaccine_code": "AZD1222",
            "dose_number": 1,
            "administered_at": datetime(2021, 8, 1, 9, 30),
            "lot_number": "NX1",
            "site_name": "Trạm Y tế xã Tân Mỹ",
            "province_code": "24",
        },
        {
            "source_record_id": "TC-2",
            "updated_at": datetime(2021, 8, 1, 10),
            "full_name": "Lê Văn C",
            "vaccine_code": "AZD1222",
        },
        {},
        {
            "source_record_id": "TC-3",
            "updated_at": "not a date",
            "full_name": "Lê Văn D",
            "vaccine_code": "AZD1222",
            "dose_number": 1.5,
        },
    ]
    for row in rows:
        sheet.append([row.get(column) for column in HEADER])
    path = tmp_path / "site.xlsx"
    workbook.save(path)

    summary = await import_file(engines, IMMUNIZATION, path)

    assert summary.count(Outcome.INSERTED) == 1 and summary.written.linked == 1
    assert summary.rejected == 2
    rejects = read_rejects(path)
    assert ("3", "administered_at", "REQUIRED") in rejects
    assert ("5", "updated_at", "INVALID_VALUE") in rejects
    assert ("5", "dose_number", "INVALID_VALUE") in rejects
    state = await snapshot(engines)
    assert [link[1] for link in state["links"]] == [citizen]


async def test_a_testing_export_is_imported_with_its_results(tmp_path, engines, given, graphql):
    async with engines[Store.TESTING].begin() as testing:
        await testing.execute(
            sa.text("INSERT INTO testing.labs VALUES ('CDC-BG', 'CDC Bắc Giang', '24')")
        )
    citizen = await given.citizen(national_id="024090004512")
    header = [
        "source_record_id",
        "updated_at",
        "full_name",
        "national_id",
        "sample_code",
        "test_type",
        "pool_code",
        "collected_at",
        "collection_site",
        "lab_code",
        "result",
        "resulted_at",
        "province_code",
    ]
    base = {
        "updated_at": "2021-09-02 08:00",
        "full_name": "Nguyễn Văn An",
        "national_id": "024090004512",
        "test_type": "RT_PCR",
        "collected_at": "2021-09-01 07:45",
        "collection_site": "Điểm lấy mẫu phường Trần Phú",
        "result": "NEGATIVE",
        "resulted_at": "2021-09-01 20:00",
        "province_code": "24",
    }
    path = write_csv(
        tmp_path / "samples.csv",
        [
            base | {"source_record_id": "XN-1", "sample_code": "S1", "lab_code": "CDC-BG"},
            base | {"source_record_id": "XN-2", "sample_code": "S2", "pool_code": "P1"},
            base | {"source_record_id": "XN-3", "sample_code": "S3", "test_type": "PCR"},
        ],
        header,
    )

    summary = await import_file(engines, TESTING, path)

    assert summary.count(Outcome.INSERTED) == 1 and summary.rejected == 2
    assert read_rejects(path) == [
        ("3", "lab_code", "RESULT_WITHOUT_LAB"),
        ("4", "test_type", "UNKNOWN_TEST_TYPE"),
    ]
    results = await graphql.query(
        "{ me { testResults { edges { node { result labName } } } } }", as_citizen=citizen
    )
    assert results["data"]["me"]["testResults"]["edges"] == [
        {"node": {"result": "NEGATIVE", "labName": "CDC Bắc Giang"}}
    ]


def _cli(store_urls: Any, *args: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "HEALTHGRAPH_CORE_DATABASE_URL": store_urls.core,
        "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": store_urls.immunization,
        "HEALTHGRAPH_TESTING_DATABASE_URL": store_urls.testing,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "import", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )


async def _count_records(engines: Any) -> int:
    async with engines[Store.IMMUNIZATION].connect() as immunization:
        return int(await immunization.scalar(sa.text("SELECT count(*) FROM vaccination_records")))


async def _empty(engines: Any) -> None:
    async with engines[Store.IMMUNIZATION].begin() as immunization:
        await immunization.execute(sa.text("TRUNCATE vaccination_records"))
    async with engines[Store.CORE].begin() as core:
        await core.execute(sa.text("TRUNCATE core.record_links"))


async def test_an_import_killed_half_way_and_run_again_ends_as_one_run(
    tmp_path, engines, given, store_urls
):
    for n in range(20):
        await given.citizen(national_id=f"0240900{n:05d}")
    lines = [
        dose_line(n, national_id=f"0240900{n % 40:05d}", dose_number=str(1 + n % 3))
        for n in range(3000)
    ]
    path = write_csv(tmp_path / "doses.csv", lines)

    importing = _cli(store_urls, "immunization", str(path), "--batch-size", "10", "--quiet")
    while await _count_records(engines) < 200:
        assert importing.poll() is None, importing.communicate()
        time.sleep(0.02)
    importing.send_signal(signal.SIGKILL)
    importing.wait()
    assert 0 < await _count_records(engines) < 3000
    resumed = _cli(store_urls, "immunization", str(path), "--quiet")
    output, errors = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, errors
    assert b"3000 inserted" not in output and b"unchanged" in output
    after_kill = without_ids_and_times(await snapshot(engines))

    await _empty(engines)
    once = _cli(store_urls, "immunization", str(path), "--quiet")
    output, errors = once.communicate(timeout=300)
    assert once.returncode == 0, errors
    assert output.startswith(b"3000 inserted, 0 updated, 0 unchanged, 0 stale, 0 rejected")
    assert without_ids_and_times(await snapshot(engines)) == after_kill


# A realistic noisy export: what sites type, and who each record really is.


def _noisy_export(
    rng: random.Random, people: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, uuid.UUID | None]]:
    """Doses typed the way sites type them; returns the lines and whose dose each is."""
    lines: list[dict[str, Any]] = []
    truth: dict[str, uuid.UUID | None] = {}

    def add(owner: uuid.UUID | None, **typed: Any) -> None:
        number = len(lines) + 1
        lines.append(dose_line(number, **typed))
        truth[f"TC-24-{number:06d}"] = owner

    for person in people:
        birth = person["birth"].isoformat()
        upper = person["name"].upper()
        add(person["id"], national_id=person["cccd"], full_name=upper, date_of_birth=birth)
        add(person["id"], national_id=person["cmnd"], full_name=person["name"], date_of_birth=birth)
        old_phone = "0163" + person["phone"][3:]
        add(person["id"], phone=old_phone, full_name=person["name"], date_of_birth=birth)
        add(person["id"], phone=person["phone"], full_name=person["name"], date_of_birth="")
        # Missing every identifier.
        add(person["id"], full_name=person["name"], date_of_birth=birth)
        # A digit of the ID swapped: it is another person's real ID.
        other = rng.choice([p for p in people if p is not person])
        add(person["id"], national_id=other["cccd"], full_name=person["name"], date_of_birth=birth)
        # A parent's dose typed under this person's phone.
        parent_birth = (person["birth"] - timedelta(days=365 * 28)).isoformat()
        add(None, phone=person["phone"], full_name="Nguyễn Văn Cha", date_of_birth=parent_birth)
        add(None, phone=person["phone"], full_name="Nguyễn Văn Cha", date_of_birth=birth)
    return lines, truth


async def test_a_noisy_export_links_no_record_to_the_wrong_citizen(tmp_path, engines, given):
    rng = random.Random(7)
    people = []
    for n in range(30):
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 20000))
        person = {
            "name": f"Trần Thị Hoa {n}",
            "birth": birth,
            "cccd": f"0241{n:08d}",
            "cmnd": f"12{n:07d}",
            "phone": f"033{n:07d}",
        }
        person["id"] = await given.citizen(
            phone=person["phone"],
            national_id=person["cccd"],
            date_of_birth=birth,
            full_name=person["name"],
        )
        # The old card too: CMND and CCCD are different kinds, many people hold both.
        await _verify(engines, person["id"], "CMND", person["cmnd"])
        people.append(person)
    lines, truth = _noisy_export(rng, people)
    path = write_csv(tmp_path / "noisy.csv", lines)

    summary = await import_file(engines, IMMUNIZATION, path, batch_size=50)

    state = await snapshot(engines)
    source_ids = {record[0]: record[2] for record in state["records"]}
    linked = {source_ids[r]: c for r, c, status, *_ in state["links"] if status == "LINKED"}
    wrong = {k: v for k, v in linked.items() if truth[k] != v}
    assert wrong == {}
    assert summary.rejected == 0 and len(linked) == 3 * len(people)
    assert summary.written.queued == len(lines) - len(linked)


async def _verify(engines: Any, citizen: uuid.UUID, kind: str, value: str) -> None:
    async with engines[Store.CORE].begin() as core:
        await core.execute(
            sa.text(
                "INSERT INTO core.citizen_identifiers "
                "(id, citizen_id, kind, value, verified, verified_by, verified_at) "
                "VALUES (:id, :citizen, :kind, :value, true, 'test', :now)"
            ),
            {
                "id": uuid.uuid4(),
                "citizen": citizen,
                "kind": kind,
                "value": value,
                "now": datetime.now(UTC),
            },
        )
