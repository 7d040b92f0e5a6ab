"""The citizen and everything the app shows them, read across the three stores."""

import datetime as dt
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.audit import ACCESS_LOG_CURSOR, AccessLogConnection, access_log_entry_from_row
from api.checkin import CheckInConnection, check_in_from_row
from api.connections import build_connection
from api.consent import Consent, consent_from_row
from api.errors import ApiError, not_visible
from api.exposure_alert import ExposureAlert, my_exposure_alerts
from api.health_pass import HealthPass, resolve_health_pass
from api.nodes import load_nodes, parse_typed_node_id
from api.pagination import decode_cursor, page_size
from api.personal_card import PersonalQr, personal_qr_field
from api.profile import Profile, profile_from
from api.record_issue import RecordIssueConnection, my_record_issues
from api.testing import TestResultConnection, pools_of, test_result_from_row
from api.vaccination import (
    Vaccination,
    VaccinationStatus,
    status_from_rows,
    vaccinations_from_rows,
)
from auth.permissions import (
    IsAuthenticated,
    IsCitizen,
    ReadsCheckIns,
    ReadsTests,
    ReadsVaccinations,
)
from models.base import PageKey
from models.identifiers import mask_phone
from models.stores import StoreUnavailable

TEST_CURSOR = "test"
CHECK_IN_CURSOR = "checkin"


@strawberry.type
class Citizen(relay.Node):
    id: relay.NodeID[str]
    full_name: str
    date_of_birth: dt.date | None
    phone_masked: str | None = strawberry.field(
        description="null for a citizen a province office registered without a phone."
    )
    province_code: str | None

    @strawberry.field(
        description="Valid doses linked to this citizen, oldest first.",
        permission_classes=[ReadsVaccinations],
    )
    async def vaccinations(self, info: strawberry.Info) -> list[Vaccination] | None:
        rows = await info.context.loaders.vaccinations.load(uuid.UUID(self.id))
        return vaccinations_from_rows(rows)

    @strawberry.field(permission_classes=[ReadsVaccinations])
    async def vaccination_status(self, info: strawberry.Info) -> VaccinationStatus | None:
        rows = await info.context.loaders.vaccinations.load(uuid.UUID(self.id))
        return status_from_rows(rows, info.context.services.passes.rules)

    @strawberry.field(
        description="Test results, newest sample first.", permission_classes=[ReadsTests]
    )
    async def test_results(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> TestResultConnection | None:
        key = _page_key(self.id, TEST_CURSOR, first, after)
        rows = await info.context.loaders.test_result_page.load(key)
        pools = await pools_of(info.context.loaders, rows[: key.limit - 1])
        return build_connection(
            TestResultConnection,
            TEST_CURSOR,
            rows,
            key.limit - 1,
            "collected_at",
            lambda row: test_result_from_row(row, pools),
            has_previous=key.after_at is not None,
        )

    @strawberry.field(description="Check-ins, newest first.", permission_classes=[ReadsCheckIns])
    async def check_ins(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> CheckInConnection | None:
        key = _page_key(self.id, CHECK_IN_CURSOR, first, after)
        rows = await info.context.loaders.check_in_page.load(key)
        return build_connection(
            CheckInConnection,
            CHECK_IN_CURSOR,
            rows,
            key.limit - 1,
            "checked_in_at",
            check_in_from_row,
            has_previous=key.after_at is not None,
        )

    personal_qr: PersonalQr | None = personal_qr_field

    @strawberry.field(
        description="Your name, claimed and verified identity.", permission_classes=[IsCitizen]
    )
    async def profile(self, info: strawberry.Info) -> Profile | None:
        row = await info.context.loaders.profile.load(uuid.UUID(self.id))
        return profile_from(row) if row is not None else None

    @strawberry.field(
        description="Partners you let read your data, newest first.",
        permission_classes=[IsCitizen],
    )
    async def consents(self, info: strawberry.Info) -> list[Consent] | None:
        rows = await info.context.loaders.consents.load(uuid.UUID(self.id))
        return [consent_from_row(row) for row in rows]

    @strawberry.field(
        description="Times you were near a confirmed case, most recent first.",
        permission_classes=[IsCitizen],
    )
    async def exposure_alerts(self, info: strawberry.Info) -> list[ExposureAlert] | None:
        return await my_exposure_alerts(info, uuid.UUID(self.id))

    @strawberry.field(
        description="Your reports of missing or wrong records and the answers, newest first.",
        permission_classes=[IsCitizen],
    )
    async def record_issues(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> RecordIssueConnection | None:
        return await my_record_issues(info, uuid.UUID(self.id), first, after)

    @strawberry.field(
        description="Every read or change of your data by anyone else, newest first.",
        permission_classes=[IsCitizen],
    )
    async def access_log(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> AccessLogConnection | None:
        key = _page_key(self.id, ACCESS_LOG_CURSOR, first, after)
        rows = await info.context.loaders.access_log_page.load(key)
        return build_connection(
            AccessLogConnection,
            ACCESS_LOG_CURSOR,
            rows,
            key.limit - 1,
            "at",
            access_log_entry_from_row,
            has_previous=key.after_at is not None,
        )

    @strawberry.field(
        description="Your health pass: its colour, why, and the signed QR code a scanner "
        "checks, online or offline.",
        permission_classes=[IsCitizen],
    )
    async def health_pass(self, info: strawberry.Info) -> HealthPass | None:
        return await resolve_health_pass(info, self.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Citizen | None"]:
        rows = await load_nodes(partial(_visible_citizen, info), node_ids)
        return [citizen_from_row(row) if row is not None else None for row in rows]


def _page_key(citizen_id: str, kind: str, first: int | None, after: str | None) -> PageKey:
    """The page the arguments ask for, with one row more than shown: it says whether
    there is a next page."""
    size = page_size(first)
    position = decode_cursor(kind, after)
    return PageKey(
        citizen_id=uuid.UUID(citizen_id),
        limit=size + 1,
        after_at=position.at if position else None,
        after_id=position.id if position else None,
    )


async def _visible_citizen(info: strawberry.Info, citizen_id: uuid.UUID) -> Row[Any] | None:
    """A citizen the caller may not see looks like one that does not exist."""
    try:
        row: Row[Any] | None = await info.context.loaders.citizen.load(citizen_id)
    except StoreUnavailable:
        raise
    except ApiError:
        return None
    return row


def citizen_from_row(row: Row[Any]) -> Citizen:
    return Citizen(
        id=str(row.id),
        full_name=row.full_name,
        date_of_birth=row.date_of_birth,
        phone_masked=mask_phone(row.phone),
        province_code=row.province_code,
    )


@strawberry.field(permission_classes=[IsCitizen], description="The signed-in citizen.")
async def me(info: strawberry.Info) -> Citizen | None:
    citizen_id = info.context.principal.citizen_id
    loaders = info.context.loaders
    # Ask for the record links in the same round trip as the profile: the record fields
    # below need them next, and this saves them a sequential trip to the core store.
    loaders.prefetch_record_ids(citizen_id)
    row = await loaders.citizen.load(citizen_id)
    return citizen_from_row(row) if row is not None else None


@strawberry.field(
    permission_classes=[IsAuthenticated],
    description="A citizen by ID: for a partner, only within that citizen's live consent.",
)
async def citizen(info: strawberry.Info, id: strawberry.ID) -> Citizen | None:
    citizen_id = parse_typed_node_id(id, "Citizen")
    if citizen_id is None:
        raise not_visible()
    row = await info.context.loaders.citizen.load(citizen_id)
    if row is None:
        raise not_visible()
    return citizen_from_row(row)
