"""What a vaccination record or a sample must be before it is stored.

Every way a record arrives (a partner's mutation, a platform export, the demo
generator) turns its input into a VaccinationInput or a SampleInput and
passes it here; a record with any problem is refused whole, each problem
naming its field. Identifiers are kept as typed; they only have to be
readable (matching normalises them).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import RecordStatus
from models.identifiers import (
    InvalidIdentifier,
    normalize_insurance_number,
    normalize_national_id,
    normalize_phone,
)
from models.matching import RecordIdentity
from models.provinces import PROVINCE_CODES
from models.testing import Lab, TestOutcome, TestType
from models.vaccination import Vaccine

# Times typed without a zone are Vietnam's local time.
VIETNAM = timezone(timedelta(hours=7), "ICT")
# A source's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
MAX_DOSE_NUMBER = 10
TESTING_BEGAN = date(2020, 1, 1)
OLDEST_BIRTH_DATE = date(1900, 1, 1)
MAX_IDENTIFIER_LENGTH = 64


class ProblemCode(StrEnum):
    REQUIRED = "REQUIRED"
    INVALID_VALUE = "INVALID_VALUE"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    UNKNOWN_VACCINE = "UNKNOWN_VACCINE"
    DOSE_OUT_OF_RANGE = "DOSE_OUT_OF_RANGE"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    BEFORE_VACCINE_EXISTED = "BEFORE_VACCINE_EXISTED"
    UNKNOWN_TEST_TYPE = "UNKNOWN_TEST_TYPE"
    RESULT_WITHOUT_LAB = "RESULT_WITHOUT_LAB"
    UNKNOWN_LAB = "UNKNOWN_LAB"
    UNKNOWN_PROVINCE = "UNKNOWN_PROVINCE"
    PROVINCE_NOT_SERVED = "PROVINCE_NOT_SERVED"


@dataclass(frozen=True)
class Problem:
    field: str
    code: ProblemCode
    message: str


@dataclass(frozen=True)
class VaccinationInput:
    source_record_id: str
    updated_at: datetime
    full_name: str
    vaccine_code: str
    dose_number: int
    administered_at: datetime
    site_name: str
    province_code: str
    date_of_birth: date | None = None
    national_id: str | None = None
    insurance_number: str | None = None
    phone: str | None = None
    lot_number: str | None = None
    entered_in_error: bool = False


@dataclass(frozen=True)
class SampleInput:
    source_record_id: str
    updated_at: datetime
    full_name: str
    sample_code: str
    test_type: str
    collected_at: datetime
    collection_site: str
    province_code: str
    result: str = TestOutcome.PENDING.value
    resulted_at: datetime | None = None
    lab_code: str | None = None
    pool_code: str | None = None
    date_of_birth: date | None = None
    national_id: str | None = None
    insurance_number: str | None = None
    phone: str | None = None
    entered_in_error: bool = False


@dataclass(frozen=True)
class Catalog:
    """What records refer to: the vaccines (with the day each became available) and the labs."""

    vaccines: dict[str, date | None]
    labs: frozenset[str]


async def load_vaccines(immunization: AsyncConnection) -> dict[str, date | None]:
    table = Vaccine.__table__
    rows = await immunization.execute(sa.select(table.c.code, table.c.available_from))
    return {code: available_from for code, available_from in rows.all()}


async def load_labs(testing: AsyncConnection) -> frozenset[str]:
    return frozenset((await testing.execute(sa.select(Lab.__table__.c.code))).scalars())


@dataclass(frozen=True)
class ValidRecord:
    """A record fit to store: its column values, and the identity matching reads."""

    values: dict[str, Any]
    identity: RecordIdentity

    @property
    def province_code(self) -> str:
        return str(self.values["province_code"])


class _Checker:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.problems: list[Problem] = []

    def problem(self, field: str, code: ProblemCode, message: str) -> None:
        self.problems.append(Problem(field, code, message))

    def text(self, field: str, value: str | None, limit: int, *, required: bool) -> str | None:
        cleaned = " ".join(value.split()) if value else ""
        if not cleaned:
            if required:
                self.problem(field, ProblemCode.REQUIRED, "required")
            return None
        if len(cleaned) > limit:
            self.problem(field, ProblemCode.INVALID_VALUE, f"at most {limit} characters")
        return cleaned

    def moment(self, field: str, value: datetime | None, *, required: bool) -> datetime | None:
        if value is None:
            if required:
                self.problem(field, ProblemCode.REQUIRED, "required")
            return None
        moment = value if value.tzinfo is not None else value.replace(tzinfo=VIETNAM)
        if moment > self.now + CLOCK_SKEW:
            self.problem(field, ProblemCode.DATE_IN_FUTURE, "is in the future")
        return moment.astimezone(UTC)

    def birth_date(self, value: date | None) -> None:
        if value is None:
            return
        if value > self.now.astimezone(VIETNAM).date():
            self.problem("date_of_birth", ProblemCode.DATE_IN_FUTURE, "is in the future")
        elif value < OLDEST_BIRTH_DATE:
            self.problem("date_of_birth", ProblemCode.INVALID_VALUE, "is before 1900")

    def identifier(self, field: str, value: str | None, check: Callable[[str], Any]) -> str | None:
        typed = value.strip() if value else ""
        if not typed:
            return None
        if len(typed) > MAX_IDENTIFIER_LENGTH:
            self.problem(
                field,
                ProblemCode.INVALID_IDENTIFIER,
                f"at most {MAX_IDENTIFIER_LENGTH} characters",
            )
            return None
        try:
            check(typed)
        except InvalidIdentifier as error:
            self.problem(field, ProblemCode.INVALID_IDENTIFIER, str(error))
        return typed

    def province(self, value: str, served: str | None) -> str:
        code = value.strip()
        if code not in PROVINCE_CODES:
            self.problem(
                "province_code",
                ProblemCode.UNKNOWN_PROVINCE,
                "not a province code (2 digits, e.g. 01 for Hà Nội)",
            )
        elif served is not None and code != served:
            self.problem(
                "province_code",
                ProblemCode.PROVINCE_NOT_SERVED,
                f"this partner records for province {served} only",
            )
        return code


def _person(
    checker: _Checker, record: VaccinationInput | SampleInput, served: str | None
) -> dict[str, Any]:
    full_name = checker.text("full_name", record.full_name, 200, required=True)
    checker.birth_date(record.date_of_birth)
    return {
        "source_record_id": checker.text(
            "source_record_id", record.source_record_id, 100, required=True
        ),
        "source_updated_at": checker.moment("updated_at", record.updated_at, required=True),
        "full_name": full_name,
        "date_of_birth": record.date_of_birth,
        "national_id": checker.identifier("national_id", record.national_id, normalize_national_id),
        "insurance_number": checker.identifier(
            "insurance_number", record.insurance_number, normalize_insurance_number
        ),
        "phone": checker.identifier("phone", record.phone, normalize_phone),
        "province_code": checker.province(record.province_code, served),
        "status": (
            RecordStatus.ENTERED_IN_ERROR if record.entered_in_error else RecordStatus.VALID
        ).value,
    }


def _valid(checker: _Checker, values: dict[str, Any]) -> ValidRecord | list[Problem]:
    if checker.problems:
        return checker.problems
    identity = RecordIdentity.from_typed(
        values["national_id"],
        values["insurance_number"],
        values["phone"],
        values["date_of_birth"],
        values["full_name"],
    )
    return ValidRecord(values, identity)


def validate_vaccination(
    record: VaccinationInput,
    catalog: Catalog,
    *,
    served: str | None = None,
    now: datetime | None = None,
) -> ValidRecord | list[Problem]:
    """served: the only province the writer may record for (None: any)."""
    checker = _Checker(now or datetime.now(UTC))
    values = _person(checker, record, served)
    code = record.vaccine_code.strip()
    available_from = catalog.vaccines.get(code)
    if code not in catalog.vaccines:
        known = ", ".join(sorted(catalog.vaccines))
        checker.problem("vaccine_code", ProblemCode.UNKNOWN_VACCINE, f"not one of: {known}")
    if not 1 <= record.dose_number <= MAX_DOSE_NUMBER:
        checker.problem(
            "dose_number", ProblemCode.DOSE_OUT_OF_RANGE, f"must be 1 to {MAX_DOSE_NUMBER}"
        )
    administered_at = checker.moment("administered_at", record.administered_at, required=True)
    if (
        administered_at is not None
        and available_from is not None
        and administered_at.astimezone(VIETNAM).date() < available_from
    ):
        checker.problem(
            "administered_at",
            ProblemCode.BEFORE_VACCINE_EXISTED,
            f"{code} was first authorised on {available_from.isoformat()}",
        )
    values |= {
        "vaccine_code": code,
        "dose_number": record.dose_number,
        "administered_at": administered_at,
        "lot_number": checker.text("lot_number", record.lot_number, 40, required=False),
        "site_name": checker.text("site_name", record.site_name, 200, required=True),
    }
    return _valid(checker, values)


def _test_type(checker: _Checker, raw: str) -> TestType | None:
    try:
        return TestType(raw.strip().upper())
    except ValueError:
        known = ", ".join(t.value for t in TestType)
        checker.problem("test_type", ProblemCode.UNKNOWN_TEST_TYPE, f"not one of: {known}")
        return None


def _outcome(checker: _Checker, raw: str) -> TestOutcome | None:
    try:
        return TestOutcome(raw.strip().upper() or TestOutcome.PENDING.value)
    except ValueError:
        known = ", ".join(t.value for t in TestOutcome)
        checker.problem("result", ProblemCode.INVALID_VALUE, f"not one of: {known}")
        return None


def _check_result(
    checker: _Checker,
    record: SampleInput,
    test_type: TestType | None,
    result: TestOutcome | None,
    collected_at: datetime | None,
    resulted_at: datetime | None,
) -> None:
    if result is TestOutcome.PENDING:
        if resulted_at is not None:
            checker.problem(
                "resulted_at", ProblemCode.INVALID_VALUE, "a pending test has no result time"
            )
        return
    if result is None:
        return
    if resulted_at is None:
        checker.problem("resulted_at", ProblemCode.REQUIRED, "required with a result")
    elif collected_at is not None and resulted_at < collected_at:
        checker.problem("resulted_at", ProblemCode.INVALID_VALUE, "is before the collection")
    # A rapid test is read where it was taken; an RT-PCR result comes from a lab.
    if test_type is TestType.RT_PCR and not (record.lab_code or "").strip():
        checker.problem(
            "lab_code", ProblemCode.RESULT_WITHOUT_LAB, "an RT-PCR result needs its lab"
        )


def validate_sample(
    record: SampleInput,
    catalog: Catalog,
    *,
    served: str | None = None,
    now: datetime | None = None,
) -> ValidRecord | list[Problem]:
    checker = _Checker(now or datetime.now(UTC))
    values = _person(checker, record, served)
    test_type = _test_type(checker, record.test_type)
    result = _outcome(checker, record.result)
    collected_at = checker.moment("collected_at", record.collected_at, required=True)
    if collected_at is not None and collected_at.date() < TESTING_BEGAN:
        checker.problem(
            "collected_at", ProblemCode.INVALID_VALUE, "is before COVID-19 testing began"
        )
    resulted_at = checker.moment("resulted_at", record.resulted_at, required=False)
    _check_result(checker, record, test_type, result, collected_at, resulted_at)
    lab_code = checker.text("lab_code", record.lab_code, 20, required=False)
    if lab_code is not None and lab_code not in catalog.labs:
        checker.problem("lab_code", ProblemCode.UNKNOWN_LAB, "not a known lab")
    pool_code = checker.text("pool_code", record.pool_code, 40, required=False)
    if pool_code is not None and test_type is TestType.RAPID_ANTIGEN:
        checker.problem("pool_code", ProblemCode.INVALID_VALUE, "rapid tests are never pooled")
    values |= {
        "sample_code": checker.text("sample_code", record.sample_code, 40, required=True),
        "test_type": test_type.value if test_type else None,
        "pooled": pool_code is not None,
        "pool_code": pool_code,
        "collected_at": collected_at,
        "collection_site": checker.text(
            "collection_site", record.collection_site, 200, required=True
        ),
        "lab_code": lab_code,
        "result": result.value if result else None,
        "resulted_at": resulted_at,
    }
    return _valid(checker, values)


async def load_catalog(
    immunization: AsyncConnection | None = None, testing: AsyncConnection | None = None
) -> Catalog:
    """The vaccines and labs records may refer to, from whichever stores are given."""
    vaccines = await load_vaccines(immunization) if immunization is not None else {}
    labs = await load_labs(testing) if testing is not None else frozenset()
    return Catalog(vaccines, labs)
