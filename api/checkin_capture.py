"""Capturing check-ins: a citizen scanning a venue's code, venue staff scanning a citizen's
insurance card or personal QR card (live, or in offline batches), and a citizen deleting
their check-ins."""

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from api.checkin import CheckIn, check_in_from_row
from api.nodes import parse_typed_node_id
from api.user_errors import UserError, UserErrorCode, user_error
from auth.permissions import IsCitizen, OperatesVenues
from auth.principal import PartnerPrincipal
from auth.qr import CodeKind, InvalidCode, QrSigner
from models import checkin as check_ins
from models.checkin import CheckInMethod, Scan
from models.citizen import holder_of_verified
from models.config import Settings
from models.identifiers import IdentifierKind, InvalidIdentifier, normalize_insurance_number
from models.retention import retention_cutoff
from models.stores import Store, reading
from models.venue import VenueKind, venue_by_code

# Scanners' clocks drift: a scan this far ahead of ours still counts as now.
CLOCK_SKEW = dt.timedelta(minutes=1)
LARGEST_BATCH = 500


@strawberry.input
class HealthDeclarationInput:
    fever: bool | None = None
    cough: bool | None = None
    shortness_of_breath: bool | None = None
    loss_of_taste_or_smell: bool | None = None
    contact_with_case: bool | None = None
    travelled_last_14_days: bool | None = None
    travelled_from: str | None = strawberry.field(
        default=None, description="Where from, when travelled in the last 14 days."
    )


def _declaration(input: HealthDeclarationInput | None) -> dict[str, Any] | None:
    if input is None:
        return None
    answers = {
        "fever": input.fever,
        "cough": input.cough,
        "shortnessOfBreath": input.shortness_of_breath,
        "lossOfTasteOrSmell": input.loss_of_taste_or_smell,
        "contactWithCase": input.contact_with_case,
        "travelledLast14Days": input.travelled_last_14_days,
        "travelledFrom": (input.travelled_from or "").strip()[:200] or None,
    }
    return {key: value for key, value in answers.items() if value is not None}


def _window(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.check_in_dedupe_minutes)


class Refused(Exception):
    """An input the check-in cannot be made from; told to the caller as a user error."""

    def __init__(self, code: UserErrorCode, message: str, field: str | None) -> None:
        super().__init__(message)
        self.error = user_error(code, message, field)


async def _open_venue(core: AsyncConnection, code: str, field: str) -> Row[Any]:
    venue = await venue_by_code(core, code.strip().upper())
    if venue is None:
        raise Refused(UserErrorCode.INVALID_QR_CODE, "no venue has this code", field)
    if venue.closed_at is not None:
        raise Refused(UserErrorCode.VENUE_CLOSED, "this venue is closed", field)
    return venue


# The citizen's own scan


@strawberry.input
class CheckInInput:
    payload: str = strawberry.field(description="The venue's QR code, as scanned.")
    declaration: HealthDeclarationInput | None = None


@strawberry.type
class CheckInPayload:
    check_in: CheckIn | None = strawberry.field(description="With the venue, to show where.")
    already_checked_in: bool = strawberry.field(
        description="The scan joined your check-in here from a few minutes before."
    )
    user_errors: list[UserError]


def _venue_code(qr: QrSigner, payload: str, field: str) -> str:
    try:
        return qr.verify(payload, CodeKind.VENUE)
    except InvalidCode as error:
        raise Refused(UserErrorCode.INVALID_QR_CODE, str(error), field) from error


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="Check in at a venue by the QR code on its poster, with an optional "
    "health declaration.",
)
async def check_in(info: strawberry.Info, input: CheckInInput) -> CheckInPayload:
    services = info.context.services
    citizen_id = info.context.principal.citizen_id
    try:
        code = _venue_code(services.qr, input.payload, "payload")
        async with reading(services.engines, Store.CORE) as core:
            venue = await _open_venue(core, code, "payload")
            scan = Scan(
                venue_id=venue.id,
                at=dt.datetime.now(dt.UTC),
                method=CheckInMethod.APP_SCAN,
                citizen_id=citizen_id,
                declaration=_declaration(input.declaration),
            )
            captured = await check_ins.capture(core, scan, _window(services.settings))
            (row,) = await check_ins.check_ins_by_ids(core, [captured.id])
            await core.commit()
    except Refused as refused:
        return CheckInPayload(check_in=None, already_checked_in=False, user_errors=[refused.error])
    return CheckInPayload(
        check_in=check_in_from_row(row), already_checked_in=not captured.new, user_errors=[]
    )


# Venue staff


@strawberry.input
class StaffCheckInInput:
    venue_code: str = strawberry.field(description="One of your venues.")
    insurance_number: str | None = strawberry.field(
        default=None, description="The citizen's health-insurance number (or personalQr)."
    )
    personal_qr: str | None = strawberry.field(
        default=None, description="The citizen's personal QR card, as scanned."
    )
    trip_id: str | None = strawberry.field(
        default=None, description="Worker buses: the trip; everyone on it was together."
    )
    declaration: HealthDeclarationInput | None = None


@strawberry.input
class StaffScanInput:
    client_id: str = strawberry.field(
        description="The scanner's own ID for this scan: sending it again adds nothing."
    )
    scanned_at: dt.datetime
    venue_code: str
    insurance_number: str | None = None
    personal_qr: str | None = None
    trip_id: str | None = None
    declaration: HealthDeclarationInput | None = None


@strawberry.type
class StaffCheckIn:
    """A check-in as the venue's staff see it: whether the person is known, never who."""

    id: strawberry.ID = strawberry.field(description="The CheckIn's global ID.")
    venue_code: str
    venue_name: str
    checked_in_at: dt.datetime
    linked: bool = strawberry.field(description="A citizen holds the scanned identity.")


@strawberry.type
class StaffCheckInPayload:
    check_in: StaffCheckIn | None
    already_checked_in: bool
    user_errors: list[UserError] = strawberry.field(
        description="An unknown insurance number is reported here, and the check-in is "
        "still kept: it joins its citizen once the number is verified."
    )


@strawberry.enum
class ScanStatus(StrEnum):
    RECORDED = "RECORDED"
    JOINED = "JOINED"
    ALREADY_RECEIVED = "ALREADY_RECEIVED"
    REFUSED = "REFUSED"


@strawberry.type
class StaffScanResult:
    client_id: str
    status: ScanStatus = strawberry.field(
        description="RECORDED: a new check-in; JOINED: the same person's check-in here "
        "within the dedupe window; ALREADY_RECEIVED: this clientId was sent before; "
        "REFUSED: see userErrors."
    )
    check_in: StaffCheckIn | None
    user_errors: list[UserError]


@strawberry.type
class StaffCheckInsPayload:
    results: list[StaffScanResult] = strawberry.field(description="One per item, in order.")


@dataclass(frozen=True)
class _StaffScan:
    venue_code: str
    insurance_number: str | None
    personal_qr: str | None
    trip_id: str | None
    declaration: HealthDeclarationInput | None


@dataclass(frozen=True)
class _Subject:
    citizen_id: uuid.UUID | None
    insurance_number: str | None
    method: CheckInMethod
    warnings: list[UserError]


async def _subject(core: AsyncConnection, qr: QrSigner, scan: _StaffScan) -> _Subject:
    given = [value for value in (scan.insurance_number, scan.personal_qr) if value]
    if len(given) != 1:
        raise Refused(
            UserErrorCode.INVALID_VALUE, "give one of insuranceNumber or personalQr", None
        )
    if scan.personal_qr:
        try:
            serial = qr.verify(scan.personal_qr, CodeKind.PERSONAL)
        except InvalidCode as error:
            raise Refused(UserErrorCode.INVALID_QR_CODE, str(error), "personalQr") from error
        card = await check_ins.card_by_serial(core, serial)
        if card is None:
            raise Refused(UserErrorCode.INVALID_QR_CODE, "no card has this code", "personalQr")
        if card.revoked_at is not None:
            raise Refused(
                UserErrorCode.CARD_REVOKED, "this card was replaced by a newer one", "personalQr"
            )
        return _Subject(card.citizen_id, None, CheckInMethod.STAFF_SCAN_PRINTED_QR, [])
    try:
        number = normalize_insurance_number(scan.insurance_number or "")
    except InvalidIdentifier as error:
        raise Refused(UserErrorCode.INVALID_VALUE, str(error), "insuranceNumber") from error
    citizen_id = await holder_of_verified(core, IdentifierKind.BHYT, number)
    warnings = []
    if citizen_id is None:
        warnings.append(
            user_error(
                UserErrorCode.UNKNOWN_INSURANCE_NUMBER,
                "no citizen has verified this insurance number yet: the check-in is kept "
                "and joins them once they do",
                "insuranceNumber",
            )
        )
    return _Subject(citizen_id, number, CheckInMethod.STAFF_SCAN_INSURANCE, warnings)


async def _operated_venue(
    core: AsyncConnection, operator: PartnerPrincipal, scan: _StaffScan
) -> Row[Any]:
    venue = await venue_by_code(core, scan.venue_code.strip().upper())
    if venue is None:
        raise Refused(UserErrorCode.NOT_FOUND, "no venue has this code", "venueCode")
    if venue.operator_id != operator.partner_id:
        raise Refused(UserErrorCode.NOT_YOUR_VENUE, "another operator runs this venue", "venueCode")
    if venue.closed_at is not None:
        raise Refused(UserErrorCode.VENUE_CLOSED, "this venue is closed", "venueCode")
    if scan.trip_id is not None:
        if venue.kind != VenueKind.WORKER_BUS.value:
            raise Refused(UserErrorCode.INVALID_VALUE, "only worker buses have trips", "tripId")
        if not 0 < len(scan.trip_id.strip()) <= 64:
            raise Refused(UserErrorCode.INVALID_VALUE, "a trip ID has 1 to 64 characters", "tripId")
    return venue


def _check_scan_time(at: dt.datetime, settings: Settings) -> None:
    if at.tzinfo is None:
        raise Refused(UserErrorCode.INVALID_VALUE, "give the scan time with its zone", "scannedAt")
    now = dt.datetime.now(dt.UTC)
    if at > now + CLOCK_SKEW:
        raise Refused(UserErrorCode.SCAN_IN_FUTURE, "the scan time is in the future", "scannedAt")
    if at < retention_cutoff(now, settings.check_in_retention_days):
        raise Refused(
            UserErrorCode.SCAN_PAST_RETENTION,
            f"scans older than {settings.check_in_retention_days} days are not kept",
            "scannedAt",
        )


def _staff_check_in(row: Row[Any]) -> StaffCheckIn:
    return StaffCheckIn(
        id=strawberry.ID(relay.to_base64("CheckIn", row.id)),
        venue_code=row.venue_code,
        venue_name=row.venue_name,
        checked_in_at=row.checked_in_at,
        linked=row.linked,
    )


async def _record_staff_scan(
    info: strawberry.Info, scan: _StaffScan, at: dt.datetime, client_id: str | None
) -> StaffScanResult:
    services = info.context.services
    operator: PartnerPrincipal = info.context.principal
    async with reading(services.engines, Store.CORE) as core:
        if client_id is not None:
            sent = await check_ins.claim_client_id(core, operator.partner_id, client_id, at)
            if sent is not None:
                receipt = (
                    await check_ins.receipt_of(core, sent.check_in_id) if sent.check_in_id else None
                )
                return StaffScanResult(
                    client_id=client_id,
                    status=ScanStatus.ALREADY_RECEIVED,
                    check_in=_staff_check_in(receipt) if receipt else None,
                    user_errors=[],
                )
        try:
            venue = await _operated_venue(core, operator, scan)
            subject = await _subject(core, services.qr, scan)
        except Refused as refused:
            await core.rollback()
            return StaffScanResult(
                client_id=client_id or "",
                status=ScanStatus.REFUSED,
                check_in=None,
                user_errors=[refused.error],
            )
        captured = await check_ins.capture(
            core,
            Scan(
                venue_id=venue.id,
                at=at,
                method=subject.method,
                citizen_id=subject.citizen_id,
                insurance_number=subject.insurance_number,
                declaration=_declaration(scan.declaration),
                trip_id=scan.trip_id.strip() if scan.trip_id else None,
                operator_id=operator.partner_id,
            ),
            _window(services.settings),
        )
        if client_id is not None:
            await check_ins.settle_client_id(core, operator.partner_id, client_id, captured.id)
        receipt = await check_ins.receipt_of(core, captured.id)
        await core.commit()
    assert receipt is not None
    return StaffScanResult(
        client_id=client_id or "",
        status=ScanStatus.RECORDED if captured.new else ScanStatus.JOINED,
        check_in=_staff_check_in(receipt),
        user_errors=subject.warnings,
    )


def _staff_scan(input: StaffCheckInInput | StaffScanInput) -> _StaffScan:
    return _StaffScan(
        venue_code=input.venue_code,
        insurance_number=input.insurance_number,
        personal_qr=input.personal_qr,
        trip_id=input.trip_id,
        declaration=input.declaration,
    )


@strawberry.mutation(
    permission_classes=[OperatesVenues],
    description="Check a citizen in at one of your venues by their insurance number or "
    "personal QR card.",
)
async def staff_check_in(info: strawberry.Info, input: StaffCheckInInput) -> StaffCheckInPayload:
    result = await _record_staff_scan(info, _staff_scan(input), dt.datetime.now(dt.UTC), None)
    return StaffCheckInPayload(
        check_in=result.check_in,
        already_checked_in=result.status is ScanStatus.JOINED,
        user_errors=result.user_errors,
    )


@strawberry.mutation(
    permission_classes=[OperatesVenues],
    description=f"Scans an offline scanner made earlier (at most {LARGEST_BATCH} a batch). "
    "Resending a batch, whole or in part, adds nothing twice; each item has its own result.",
)
async def staff_check_ins(
    info: strawberry.Info, items: list[StaffScanInput]
) -> StaffCheckInsPayload:
    if len(items) > LARGEST_BATCH:
        from api.errors import BadUserInput

        raise BadUserInput(f"send at most {LARGEST_BATCH} items a batch", argument="items")
    settings = info.context.services.settings
    results = []
    for item in items:
        client_id = item.client_id.strip()
        try:
            if not 0 < len(client_id) <= 64:
                raise Refused(
                    UserErrorCode.INVALID_VALUE, "a clientId has 1 to 64 characters", "clientId"
                )
            _check_scan_time(item.scanned_at, settings)
        except Refused as refused:
            results.append(
                StaffScanResult(
                    client_id=item.client_id,
                    status=ScanStatus.REFUSED,
                    check_in=None,
                    user_errors=[refused.error],
                )
            )
            continue
        results.append(
            await _record_staff_scan(info, _staff_scan(item), item.scanned_at, client_id)
        )
    return StaffCheckInsPayload(results=results)


# Deletion


@strawberry.input
class DeleteCheckInsInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These check-ins (or all: true)."
    )
    all: bool = False


@strawberry.type
class DeletedCheckIn:
    id: strawberry.ID = strawberry.field(description="The CheckIn's global ID.")
    venue_code: str
    venue_name: str
    checked_in_at: dt.datetime


@strawberry.type
class DeletionReceipt:
    deleted_at: dt.datetime
    count: int
    check_ins: list[DeletedCheckIn] = strawberry.field(description="Oldest first.")


@strawberry.type
class DeleteCheckInsPayload:
    receipt: DeletionReceipt | None
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="Delete some of your check-ins, or all of them; the receipt says which.",
)
async def delete_check_ins(
    info: strawberry.Info, input: DeleteCheckInsInput
) -> DeleteCheckInsPayload:
    if input.all == (input.ids is not None):
        return DeleteCheckInsPayload(
            receipt=None,
            user_errors=[user_error(UserErrorCode.INVALID_VALUE, "give ids or all: true", "ids")],
        )
    wanted = None
    if input.ids is not None:
        wanted = [parse_typed_node_id(raw, "CheckIn") for raw in input.ids]
    citizen_id = info.context.principal.citizen_id
    async with reading(info.context.services.engines, Store.CORE) as core:
        ids = None if wanted is None else [i for i in wanted if i is not None]
        rows = await check_ins.delete_check_ins(core, citizen_id, ids)
        await core.commit()
    errors = []
    if wanted is not None and len(rows) < len(wanted):
        errors.append(
            user_error(
                UserErrorCode.NOT_FOUND,
                f"{len(wanted) - len(rows)} of the IDs are none of your check-ins",
                "ids",
            )
        )
    receipt = DeletionReceipt(
        deleted_at=dt.datetime.now(dt.UTC),
        count=len(rows),
        check_ins=[
            DeletedCheckIn(
                id=strawberry.ID(relay.to_base64("CheckIn", row.id)),
                venue_code=row.venue_code,
                venue_name=row.venue_name,
                checked_in_at=row.checked_in_at,
            )
            for row in rows
        ],
    )
    return DeleteCheckInsPayload(receipt=receipt, user_errors=errors)
