"""Demo data: the demo citizen's every case, realistic identifiers, real matching, determinism."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from demo.seed import (
    DEMO_OFFICE_NAME,
    DEMO_PHONE,
    DEMO_RECONCILED_BY,
    WITHOUT_PHONE,
    AlreadySeeded,
    SeedSummary,
    build_world,
    seed,
)
from models.identifiers import (
    IdentifierKind,
    normalize_insurance_number,
    normalize_phone,
    normalize_phone_or_none,
)
from models.link import LinkMethod, LinkStatus, RecordStore, UnmatchedReason
from models.matching import RecordIdentity, load_directory
from models.stores import Engines, Store
from models.testing import TestOutcome, TestType
from models.venue import VenueKind

CITIZENS = 50

SEEDED_TABLES = {
    Store.CORE: ("citizens", "citizen_identifiers", "venues", "check_ins", "record_links"),
    Store.IMMUNIZATION: ("vaccination_records",),
    Store.TESTING: ("samples", "labs"),
}


@pytest.fixture
async def seeded(engines: Engines) -> SeedSummary:
    return await seed(engines, CITIZENS)


async def _rows(engines: Engines, store: Store, query: str, **params: Any) -> list[Any]:
    async with engines[store].connect() as connection:
        return list((await connection.execute(sa.text(query), params)).all())


async def _counts(engines: Engines) -> dict[str, int]:
    counts = {}
    for store, tables in SEEDED_TABLES.items():
        for table in tables:
            [(count,)] = await _rows(engines, store, f"SELECT count(*) FROM {store.schema}.{table}")
            counts[f"{store.schema}.{table}"] = count
    return counts


async def _demo_links(engines: Engines, summary: SeedSummary, store: RecordStore) -> list[Any]:
    return await _rows(
        engines,
        Store.CORE,
        "SELECT record_id, status, method, reason, decided_by FROM core.record_links "
        "WHERE citizen_id = :citizen AND store = :record_store",
        citizen=summary.demo_citizen_id,
        record_store=store.value,
    )


async def test_the_demo_citizen_has_a_mixed_series_a_booster_and_a_reconciled_record(
    engines: Engines, seeded: SeedSummary
):
    links = await _demo_links(engines, seeded, RecordStore.IMMUNIZATION)
    assert len(links) == 4
    assert all(link.status == LinkStatus.LINKED for link in links)
    by_record = {link.record_id: link for link in links}
    doses = await _rows(
        engines,
        Store.IMMUNIZATION,
        "SELECT id, vaccine_code, dose_number, status FROM vaccination_records "
        "WHERE id = ANY(:ids) ORDER BY administered_at",
        ids=list(by_record),
    )
    assert [(d.vaccine_code, d.dose_number) for d in doses[:3]] == [
        ("AZD1222", 1),
        ("BNT162b2", 2),
        ("mRNA-1273", 3),
    ]
    assert {d.status for d in doses} == {"VALID"}
    reconciled = [link for link in links if link.method == LinkMethod.OPERATOR]
    assert len(reconciled) == 1
    assert reconciled[0].decided_by == DEMO_RECONCILED_BY
    assert reconciled[0].reason is None
    automatic = {link.method for link in links} - {LinkMethod.OPERATOR.value}
    assert automatic == {
        LinkMethod.NATIONAL_ID,
        LinkMethod.INSURANCE_NUMBER,
        LinkMethod.PHONE_AND_BIRTH_DATE,
    }


async def test_the_reconciled_record_does_not_match_automatically(
    engines: Engines, seeded: SeedSummary
):
    [link] = [
        link
        for link in await _demo_links(engines, seeded, RecordStore.IMMUNIZATION)
        if link.method == LinkMethod.OPERATOR
    ]
    [record] = await _rows(
        engines,
        Store.IMMUNIZATION,
        "SELECT national_id, insurance_number, phone, date_of_birth, province_code "
        "FROM vaccination_records WHERE id = :id",
        id=link.record_id,
    )
    identity = RecordIdentity.from_typed(
        record.national_id, record.insurance_number, record.phone, record.date_of_birth
    )
    async with engines[Store.CORE].connect() as core:
        outcome = (await load_directory(core, [identity])).match(identity)

    assert record.province_code == "24"
    assert record.insurance_number is None
    assert not outcome.linked
    assert outcome.reason is UnmatchedReason.CONFLICTING_IDENTIFIERS


async def test_the_demo_citizen_has_a_negative_pooled_pcr_and_a_pending_rapid_test(
    engines: Engines, seeded: SeedSummary
):
    links = await _demo_links(engines, seeded, RecordStore.TESTING)
    samples = await _rows(
        engines,
        Store.TESTING,
        "SELECT test_type, pooled, pool_code, result, resulted_at, lab_code FROM samples "
        "WHERE id = ANY(:ids)",
        ids=[link.record_id for link in links],
    )
    assert {link.status for link in links} == {LinkStatus.LINKED}
    pooled = [s for s in samples if s.pooled]
    rapid = [s for s in samples if s.test_type == TestType.RAPID_ANTIGEN]
    assert len(samples) == 2 and len(pooled) == 1 and len(rapid) == 1
    assert pooled[0].test_type == TestType.RT_PCR
    assert pooled[0].result == TestOutcome.NEGATIVE
    assert pooled[0].lab_code is not None
    assert rapid[0].result == TestOutcome.PENDING and rapid[0].resulted_at is None
    [(pool_size, results)] = await _rows(
        engines,
        Store.TESTING,
        "SELECT count(*), array_agg(DISTINCT result) FROM samples WHERE pool_code = :pool",
        pool=pooled[0].pool_code,
    )
    assert 5 <= pool_size <= 10
    assert results == [TestOutcome.NEGATIVE]


async def test_the_demo_citizen_checked_in_at_many_kinds_of_venue_in_the_last_month(
    engines: Engines, seeded: SeedSummary
):
    check_ins = await _rows(
        engines,
        Store.CORE,
        "SELECT v.kind, c.checked_in_at, c.method, c.declaration FROM core.check_ins c "
        "JOIN core.venues v ON v.id = c.venue_id WHERE c.citizen_id = :citizen",
        citizen=seeded.demo_citizen_id,
    )
    kinds = {row.kind for row in check_ins}
    assert kinds >= {
        VenueKind.OFFICE,
        VenueKind.RESTAURANT,
        VenueKind.MARKET,
        VenueKind.WORKER_BUS,
        VenueKind.LYCHEE_WEIGHING_STATION,
        VenueKind.GROCERY,
    }
    now = datetime.now(UTC)
    assert all(now - timedelta(days=32) < row.checked_in_at < now for row in check_ins)
    assert any(
        row.declaration
        == {"fever": False, "cough": False, "contactWithCase": False, "travelledFrom": None}
        for row in check_ins
    )


async def test_every_venue_kind_exists_and_records_stay_unmatched_for_every_reason(
    engines: Engines, seeded: SeedSummary
):
    kinds = await _rows(engines, Store.CORE, "SELECT DISTINCT kind FROM core.venues")
    reasons = await _rows(
        engines,
        Store.CORE,
        "SELECT reason, count(*) FROM core.record_links WHERE status = 'UNMATCHED' GROUP BY reason",
    )
    [(codes, distinct_codes)] = await _rows(
        engines, Store.CORE, "SELECT count(code), count(DISTINCT code) FROM core.venues"
    )

    assert {row.kind for row in kinds} == set(VenueKind)
    assert codes == distinct_codes == seeded.venues
    assert {row.reason for row in reasons} == set(UnmatchedReason)
    assert sum(row.count for row in reasons) == seeded.unmatched_records


async def test_the_province_office_has_registered_a_citizen_who_has_no_phone(
    engines: Engines, seeded: SeedSummary
):
    citizen = seeded.without_phone_citizen_id
    [row] = await _rows(
        engines,
        Store.CORE,
        "SELECT full_name, phone, province_code, district FROM citizens WHERE id = :id",
        id=citizen,
    )
    identifiers = await _rows(
        engines,
        Store.CORE,
        "SELECT kind, value, verified_by FROM citizen_identifiers WHERE citizen_id = :id",
        id=citizen,
    )
    audit = await _rows(
        engines,
        Store.CORE,
        "SELECT action, principal_name FROM audit_log WHERE citizen_id = :id",
        id=citizen,
    )

    assert tuple(row) == (WITHOUT_PHONE.full_name, None, "24", WITHOUT_PHONE.district)
    assert {(r.kind, r.value) for r in identifiers} == {
        ("CCCD", WITHOUT_PHONE.national_id),
        ("BHYT", WITHOUT_PHONE.insurance_number),
    }
    # Written by the office's registration, not by the generator.
    assert {r.verified_by for r in identifiers} == {f"partner:{DEMO_OFFICE_NAME}"}
    # (Earlier seeds of the suite gave the same ID: the audit log keeps their rows too.)
    assert {tuple(r) for r in audit} == {("REGISTER", DEMO_OFFICE_NAME)}


async def test_counts_match_the_summary_and_the_expected_averages(
    engines: Engines, seeded: SeedSummary
):
    counts = await _counts(engines)

    # The generated citizens, and the one the province office registered without a phone.
    assert counts["core.citizens"] == seeded.citizens == CITIZENS + 1
    assert counts["immunization.vaccination_records"] == seeded.vaccination_records
    assert counts["testing.samples"] == seeded.samples
    assert counts["core.check_ins"] == seeded.check_ins
    assert counts["core.record_links"] == seeded.vaccination_records + seeded.samples
    assert 1.7 < seeded.vaccination_records / CITIZENS < 2.8
    assert 2.4 < seeded.samples / CITIZENS < 3.8
    assert 14 < seeded.check_ins / CITIZENS < 26


async def test_citizens_hold_realistic_identifiers(engines: Engines, seeded: SeedSummary):
    citizens = await _rows(engines, Store.CORE, "SELECT id, phone, province_code FROM citizens")
    identifiers = await _rows(
        engines, Store.CORE, "SELECT citizen_id, kind, value, verified FROM citizen_identifiers"
    )
    province = {c.id: c.province_code for c in citizens}
    verified_phones = {(i.citizen_id, i.value) for i in identifiers if i.kind == "PHONE"}
    kinds = Counter((i.kind, i.verified) for i in identifiers)

    with_phone = [c for c in citizens if c.id != seeded.without_phone_citizen_id]
    assert all(normalize_phone(c.phone) == c.phone for c in with_phone)
    assert all((c.id, c.phone) in verified_phones for c in with_phone)
    assert all(i.verified for i in identifiers if i.kind == "PHONE")
    for i in identifiers:
        if i.kind == IdentifierKind.CCCD:
            assert re.fullmatch(rf"0{province[i.citizen_id]}[0-3]\d{{8}}", i.value)
        elif i.kind == IdentifierKind.CMND:
            assert re.fullmatch(r"\d{9}", i.value)
        elif i.kind == IdentifierKind.BHYT:
            assert normalize_insurance_number(i.value) == i.value
            assert i.value[3:5] == province[i.citizen_id]
    assert kinds[("CCCD", True)] > CITIZENS // 2
    assert kinds[("BHYT", True)] > CITIZENS // 2
    assert kinds[("CMND", True)] > 0
    assert kinds[("CCCD", False)] + kinds[("CMND", False)] > 0


async def test_records_carry_identifiers_as_typed_at_sites(engines: Engines, seeded: SeedSummary):
    records = await _rows(
        engines,
        Store.IMMUNIZATION,
        "SELECT vaccine_code, phone, national_id, source_system, source_record_id, status, "
        "administered_at FROM vaccination_records",
    )
    catalog = {
        r.code for r in await _rows(engines, Store.IMMUNIZATION, "SELECT code FROM vaccines")
    }
    old_phones = [r.phone for r in records if r.phone and re.fullmatch(r"01\d{9}", r.phone)]

    assert {r.vaccine_code for r in records} <= catalog
    assert len({(r.source_system, r.source_record_id) for r in records}) == len(records)
    assert all(2021 <= r.administered_at.year <= 2022 for r in records)
    assert old_phones and all(normalize_phone_or_none(p) for p in old_phones)
    assert any(r.national_id is None for r in records)
    assert any(r.phone and r.phone.startswith("+84") for r in records)


async def test_samples_cover_every_type_and_outcome_and_pools_share_a_result(
    engines: Engines, seeded: SeedSummary
):
    samples = await _rows(
        engines,
        Store.TESTING,
        "SELECT test_type, pooled, pool_code, result, resulted_at, lab_code FROM samples",
    )
    pools = await _rows(
        engines,
        Store.TESTING,
        "SELECT pool_code, count(*) AS size, count(DISTINCT result) AS results FROM samples "
        "WHERE pooled GROUP BY pool_code",
    )
    labs = {row.code for row in await _rows(engines, Store.TESTING, "SELECT code FROM labs")}

    assert {(s.test_type, s.pooled) for s in samples} == {
        (TestType.RT_PCR, False),
        (TestType.RT_PCR, True),
        (TestType.RAPID_ANTIGEN, False),
    }
    assert {s.result for s in samples} == set(TestOutcome)
    assert all((s.result == TestOutcome.PENDING) == (s.resulted_at is None) for s in samples)
    assert all(s.lab_code in labs for s in samples if s.test_type == TestType.RT_PCR)
    assert pools and all(5 <= p.size <= 10 and p.results == 1 for p in pools)


async def test_seeding_again_raises_and_changes_nothing(engines: Engines, seeded: SeedSummary):
    before = await _counts(engines)

    with pytest.raises(AlreadySeeded):
        await seed(engines, CITIZENS)

    assert await _counts(engines) == before


async def test_the_same_seed_gives_the_same_rows(engines: Engines):
    first = await _fingerprint(engines, await seed(engines, CITIZENS, random_seed=7))
    for store, tables in SEEDED_TABLES.items():
        async with engines[store].begin() as connection:
            names = ", ".join(f"{store.schema}.{table}" for table in tables)
            await connection.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    second = await _fingerprint(engines, await seed(engines, CITIZENS, random_seed=7))

    assert first == second


async def _fingerprint(engines: Engines, summary: SeedSummary) -> tuple[Any, ...]:
    queries = {
        Store.CORE: "SELECT array_agg(id::text || full_name || phone ORDER BY id) FROM citizens",
        Store.IMMUNIZATION: "SELECT array_agg(id::text || source_record_id ORDER BY id) "
        "FROM vaccination_records",
        Store.TESTING: "SELECT array_agg(id::text || result ORDER BY id) FROM samples",
    }
    rows = [(await _rows(engines, store, query))[0][0] for store, query in queries.items()]
    return (summary, *rows)


def test_a_different_seed_gives_different_people():
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    first = build_world(1, 20, anchor).people
    second = build_world(2, 20, anchor).people

    assert first[0].phone == second[0].phone == DEMO_PHONE
    assert {p.id for p in first}.isdisjoint({p.id for p in second})
    assert [p.full_name for p in first[1:]] != [p.full_name for p in second[1:]]


async def test_progress_is_reported(engines: Engines):
    lines: list[str] = []
    await seed(engines, CITIZENS, progress=lines.append)

    assert lines[0].startswith("citizens ")
    assert any(line.startswith("vaccination records ") for line in lines)
    assert any(line.startswith("samples ") for line in lines)
    assert lines[-1].startswith("check-ins ") or any(
        re.fullmatch(r"check-ins (\d+)/\1", line) for line in lines
    )
