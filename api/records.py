"""Partner writes: a vaccination site records doses, a lab records samples and results.

Each write is validated whole (every problem comes back in `userErrors` with
its field, and nothing is written), then stored by the one record writer
(models.records): idempotent on the partner's own record ID, newest version
by the partner's `updatedAt` wins. A partner that serves one province writes
records of that province only. The payload never says whether or to whom a
record was linked: that would tell a partner who holds an identifier.
"""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.utils.str_converters import to_camel_case

from api.errors import ApiError, ErrorCode
from api.reconciliation import RecordKind as RecordKindName
from api.testing import TestResult, test_result_from_row
from api.user_errors import UserError, UserErrorCode, user_error
from api.vaccination import Vaccination, vaccinations_from_rows
from auth.permissions import WritesRecords
from auth.principal import PartnerPrincipal
from auth.scopes import Scope
from models.audit import Actor
from models.health_status import PassRules
from models.record_validation import (
    Catalog,
    Problem,
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
    ItemResult,
    Outcome,
    RecordKind,
    VoidRequest,
    Writer,
    write_records,
)
from models.records import void_record as void_stored_record
from models.stores import Engines, Store, StoreUnavailable, is_unavailable
from models.testing import TestOutcome, samples_in_any_status
from models.vaccination import records_by_ids

T = TypeVar("T")


@strawberry.enum(description="What a write did to the stored record.")
class RecordWriteStatus(Enum):
    INSERTED = "INSERTED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    STALE = "STALE"
    VOIDED = "VOIDED"


_IDENTIFIERS_HELP = (
    "As typed at the site; at least one of nationalId (12-digit CCCD or 9-digit CMND), "
    "insuranceNumber or phone with dateOfBirth lets the record reach its citizen."
)


@strawberry.input(description="One dose, as the site's system holds it. " + _IDENTIFIERS_HELP)
class RecordVaccinationInput:
    source_record_id: str = strawberry.field(description="The dose's ID in your system.")
    updated_at: dt.datetime = strawberry.field(
        description="When your system last changed this dose: the newest version wins."
    )
    full_name: str
    date_of_birth: dt.date | None = None
    national_id: str | None = None
    insurance_number: str | None = None
    phone: str | None = None
    vaccine_code: str = strawberry.field(description="A code from the `vaccines` catalog.")
    dose_number: int
    administered_at: dt.datetime = strawberry.field(
        description="Without a zone, Vietnam's local time."
    )
    lot_number: str | None = None
    site_name: str
    province_code: str = strawberry.field(description="2-digit province code.")


@strawberry.input(
    description="One person's sample: its collection, then (as a newer version of the same "
    "record) its result. " + _IDENTIFIERS_HELP
)
class RecordTestResultInput:
    source_record_id: str = strawberry.field(description="The sample's ID in your system.")
    updated_at: dt.datetime = strawberry.field(
        description="When your system last changed this sample: the newest version wins."
    )
    full_name: str
    date_of_birth: dt.date | None = None
    national_id: str | None = None
    insurance_number: str | None = None
    phone: str | None = None
    sample_code: str
    test_type: str = strawberry.field(description="RT_PCR or RAPID_ANTIGEN.")
    pool_code: str | None = strawberry.field(
        default=None, description="The pooled tube this sample went into, if any."
    )
    collected_at: dt.datetime
    collection_site: str
    lab_code: str | None = strawberry.field(
        default=None, description="Required with an RT-PCR result."
    )
    result: str = strawberry.field(
        default=TestOutcome.PENDING.value,
        description="PENDING (collected, no result yet), NEGATIVE, POSITIVE or INCONCLUSIVE.",
    )
    resulted_at: dt.datetime | None = None
    province_code: str = strawberry.field(description="2-digit province code.")


@strawberry.type
class RecordVaccinationPayload:
    status: RecordWriteStatus | None = strawberry.field(description="Null when refused.")
    vaccination: Vaccination | None
    user_errors: list[UserError]


@strawberry.type
class RecordTestResultPayload:
    status: RecordWriteStatus | None = strawberry.field(description="Null when refused.")
    test_result: TestResult | None
    user_errors: list[UserError]


@strawberry.type
class VoidRecordPayload:
    status: RecordWriteStatus | None = strawberry.field(description="Null when refused.")
    user_errors: list[UserError]


def _user_errors(problems: list[Problem]) -> list[UserError]:
    return [user_error(p.code.value, p.message, to_camel_case(p.field)) for p in problems]


def _partner(info: strawberry.Info, scope: Scope) -> PartnerPrincipal:
    principal = info.context.principal
    assert isinstance(principal, PartnerPrincipal)
    if not principal.holds(scope):
        raise ApiError(ErrorCode.FORBIDDEN, f"this needs the {scope.value} scope")
    return principal


def _writer(info: strawberry.Info, partner: PartnerPrincipal) -> Writer:
    actor = Actor("PARTNER", str(partner.partner_id), partner.name)
    rules = PassRules.from_settings(info.context.services.settings)
    return Writer(partner.name, actor, info.context.request_id, pass_rules=rules)


async def _in_store(store: Store, work: Callable[[], Awaitable[T]]) -> T:
    try:
        return await work()
    except Exception as error:
        if is_unavailable(error):
            raise StoreUnavailable(store) from error
        raise


def _status(result: ItemResult) -> RecordWriteStatus:
    return RecordWriteStatus(result.outcome.value)


@dataclasses.dataclass(frozen=True)
class _Writes:
    """What a partner's write of one kind of record needs: what differs between a dose and a
    sample."""

    kind: RecordKind
    scope: Scope
    catalog: Callable[[AsyncConnection], Awaitable[Catalog]]
    validate: Callable[..., ValidRecord | list[Problem]]
    # The record as the writer just stored it (entered in error or not).
    stored: Callable[[AsyncConnection, list[uuid.UUID]], Awaitable[list[Row[Any]]]]


_WRITES = {
    RecordKindName.VACCINATION: _Writes(
        VACCINATIONS,
        Scope.IMMUNIZATION_WRITE,
        lambda immunization: load_catalog(immunization=immunization),
        validate_vaccination,
        records_by_ids,
    ),
    RecordKindName.TEST_RESULT: _Writes(
        SAMPLES,
        Scope.TESTING_WRITE,
        lambda testing: load_catalog(testing=testing),
        validate_sample,
        samples_in_any_status,
    ),
}


@dataclasses.dataclass(frozen=True)
class _Written:
    status: RecordWriteStatus | None
    row: Row[Any] | None
    user_errors: list[UserError]


async def _write(
    info: strawberry.Info, name: RecordKindName, record: VaccinationInput | SampleInput
) -> _Written:
    """Validate one record whole, then store it through the record writer."""
    writes = _WRITES[name]
    partner = _partner(info, writes.scope)
    engines: Engines = info.context.services.engines
    store = writes.kind.database

    async def write() -> _Written:
        async with engines[store].connect() as connection:
            catalog = await writes.catalog(connection)
        checked = writes.validate(record, catalog, served=partner.province_code)
        if isinstance(checked, list):
            return _Written(None, None, _user_errors(checked))
        [result] = await write_records(engines, writes.kind, _writer(info, partner), [checked])
        assert result.record_id is not None  # a write always names the stored record
        async with engines.reader(store).connect() as connection:
            [row] = await writes.stored(connection, [result.record_id])
        return _Written(_status(result), row, [])

    return await _in_store(store, write)


@strawberry.mutation(
    permission_classes=[WritesRecords],
    description="Record a dose (scope immunization:write). Idempotent on sourceRecordId; the "
    "same version again is UNCHANGED, an older one STALE.",
)
async def record_vaccination(
    info: strawberry.Info, input: RecordVaccinationInput
) -> RecordVaccinationPayload:
    record = VaccinationInput(**_fields(input))
    written = await _write(info, RecordKindName.VACCINATION, record)
    dose = vaccinations_from_rows([written.row])[0] if written.row is not None else None
    return RecordVaccinationPayload(
        status=written.status, vaccination=dose, user_errors=written.user_errors
    )


@strawberry.mutation(
    permission_classes=[WritesRecords],
    description="Record a sample, or its result as a newer version of the same record "
    "(scope testing:write). Idempotent on sourceRecordId.",
)
async def record_test_result(
    info: strawberry.Info, input: RecordTestResultInput
) -> RecordTestResultPayload:
    record = SampleInput(**_fields(input))
    written = await _write(info, RecordKindName.TEST_RESULT, record)
    result = test_result_from_row(written.row) if written.row is not None else None
    return RecordTestResultPayload(
        status=written.status, test_result=result, user_errors=written.user_errors
    )


@strawberry.mutation(
    permission_classes=[WritesRecords],
    description="Mark one of your records entered in error: it leaves the citizen's view. "
    "A newer version of the record sent later brings it back.",
)
async def void_record(
    info: strawberry.Info,
    kind: RecordKindName,
    source_record_id: str,
    updated_at: dt.datetime | None = None,
) -> VoidRecordPayload:
    record_kind = _WRITES[kind].kind
    partner = _partner(info, _WRITES[kind].scope)
    engines: Engines = info.context.services.engines
    if updated_at is not None and updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))
    request = VoidRequest(source_record_id.strip(), updated_at)
    result = await _in_store(
        record_kind.database,
        lambda: void_stored_record(engines, record_kind, _writer(info, partner), request),
    )
    if result.outcome is Outcome.NOT_FOUND:
        problem = user_error(UserErrorCode.NOT_FOUND, "you have no such record", "sourceRecordId")
        return VoidRecordPayload(status=None, user_errors=[problem])
    return VoidRecordPayload(status=_status(result), user_errors=[])


def _fields(input: Any) -> dict[str, Any]:
    return {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
