"""The zone around a case: who was at the same venue at the same time.

Only a health authority of the case's province traces a case: a partner token
holding `exposures:read` whose province is the case's. Contacts come with a
masked phone; the full phone is given only to the authority itself, a token
that also holds `exposures:authority` (a zoning map or a tracing team's app
holds `exposures:read` alone). Every trace is audited: the case sees it in
their access log as TRACE, each contact listed as a READ of their check-ins.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from itertools import groupby
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from api.checkin import CheckInMethodEnum
from api.errors import BadUserInput, not_visible
from api.nodes import parse_typed_node_id
from api.venue import Venue, venue_from_row
from auth.permissions import TracesExposures
from auth.principal import PartnerPrincipal
from auth.scopes import Scope, Section
from models.audit import Actor, AuditAction, record
from models.citizen import citizens_by_ids
from models.exposure import ExposureQuery, exposure_rows
from models.identifiers import mask_phone
from models.stores import Store, reading

DEFAULT_OVERLAP_MINUTES = 60
LONGEST_OVERLAP_MINUTES = 24 * 60
# Check-ins are kept about two months; a longer period finds nothing more.
LONGEST_PERIOD = dt.timedelta(days=62)


@strawberry.type(description="Someone who checked in at the venue near the case's check-in.")
class ExposedContact:
    citizen_id: strawberry.ID | None = strawberry.field(
        description="The citizen's global ID; null for a staff check-in not yet linked."
    )
    full_name: str | None
    phone_masked: str | None
    phone: str | None = strawberry.field(
        description="The full phone number: only for a token holding exposures:authority."
    )
    insurance_number: str | None = strawberry.field(
        description="For a staff check-in not linked to a citizen: the number scanned."
    )
    checked_in_at: dt.datetime
    method: CheckInMethodEnum
    same_trip: bool = strawberry.field(
        description="Together because on the same worker-bus trip, whatever the times."
    )


@strawberry.type(description="One check-in of the case and everyone together with it.")
class Exposure:
    venue: Venue
    case_checked_in_at: dt.datetime
    trip_id: str | None = strawberry.field(
        description="Worker buses: the case's trip; everyone on it counts, whatever the time."
    )
    window_start: dt.datetime = strawberry.field(
        description="Contacts checked in from here to windowEnd, both included."
    )
    window_end: dt.datetime
    contacts: list[ExposedContact]


@dataclass(frozen=True)
class Trace:
    """The case an authority asked about, and what was found."""

    case_id: uuid.UUID
    query: ExposureQuery
    rows: list[Row[Any]]


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def period_problem(start: dt.datetime, end: dt.datetime, overlap_minutes: int) -> Problem | None:
    """What is wrong with an exposure question's period and window, if anything."""
    if start.tzinfo is None:
        return Problem("from", "a time with a zone, e.g. 2021-07-01T08:00:00+07:00")
    if end.tzinfo is None:
        return Problem("to", "a time with a zone, e.g. 2021-07-14T20:00:00+07:00")
    if end < start:
        return Problem("to", "the period ends before it starts")
    if end - start > LONGEST_PERIOD:
        return Problem("to", f"the period is at most {LONGEST_PERIOD.days} days")
    if not 0 <= overlap_minutes <= LONGEST_OVERLAP_MINUTES:
        return Problem("overlapMinutes", f"between 0 and {LONGEST_OVERLAP_MINUTES} minutes")
    return None


def exposure_query(
    case_id: uuid.UUID, start: dt.datetime, end: dt.datetime, overlap_minutes: int
) -> ExposureQuery:
    return ExposureQuery(case_id, start, end, dt.timedelta(minutes=overlap_minutes))


async def traceable_case(
    core: AsyncConnection, principal: PartnerPrincipal, raw_id: str
) -> uuid.UUID:
    """The case's citizen ID, if the authority's province is the case's; else the one
    refusal for an unseen citizen (unknown and other-province cases look the same)."""
    case_id = parse_typed_node_id(raw_id, "Citizen")
    if case_id is None or principal.province_code is None:
        raise not_visible()
    found = await citizens_by_ids(core, [case_id])
    if not found or found[0].province_code != principal.province_code:
        raise not_visible()
    return case_id


def actor_of(principal: PartnerPrincipal) -> Actor:
    return Actor("PARTNER", str(principal.partner_id), principal.name)


def _contact(row: Row[Any], authority: bool) -> ExposedContact:
    citizen_id = row.contact_citizen_id
    phone = row.contact_phone if citizen_id else None
    return ExposedContact(
        citizen_id=strawberry.ID(relay.to_base64("Citizen", citizen_id)) if citizen_id else None,
        full_name=row.contact_name,
        phone_masked=mask_phone(phone),
        phone=phone if authority else None,
        insurance_number=None if citizen_id else row.contact_insurance_number,
        checked_in_at=row.contact_at,
        method=CheckInMethodEnum(row.contact_method),
        same_trip=row.contact_same_trip,
    )


def exposures_from_rows(trace: Trace, authority: bool) -> list[Exposure]:
    overlap = trace.query.overlap
    exposures = []
    for _, group in groupby(trace.rows, key=lambda row: row.visit_id):
        rows = list(group)
        first = rows[0]
        exposures.append(
            Exposure(
                venue=venue_from_row(first, prefix="venue_"),
                case_checked_in_at=first.visit_at,
                trip_id=first.visit_trip_id,
                window_start=first.visit_at - overlap,
                window_end=first.visit_at + overlap,
                contacts=[_contact(row, authority) for row in rows if row.contact_at is not None],
            )
        )
    return exposures


def contact_citizens(rows: list[Row[Any]]) -> list[uuid.UUID]:
    return list(dict.fromkeys(row.contact_citizen_id for row in rows if row.contact_citizen_id))


async def resolve_exposures(
    info: strawberry.Info,
    case_citizen_id: strawberry.ID,
    start: Annotated[dt.datetime, strawberry.argument(name="from")],
    to: dt.datetime,
    overlap_minutes: int = DEFAULT_OVERLAP_MINUTES,
) -> list[Exposure]:
    principal: PartnerPrincipal = info.context.principal
    problem = period_problem(start, to, overlap_minutes)
    if problem is not None:
        raise BadUserInput(f"{problem.field}: {problem.message}", argument=problem.field)
    async with reading(info.context.services.engines, Store.CORE) as core:
        case_id = await traceable_case(core, principal, case_citizen_id)
        query = exposure_query(case_id, start, to, overlap_minutes)
        rows = await exposure_rows(core, query)
        # Written before any row is released; a failed write fails the trace.
        actor, request_id = actor_of(principal), info.context.request_id
        await record(core, actor, AuditAction.TRACE, [(case_id, [Section.CHECKINS])], request_id)
        contacts = [(c, [Section.CHECKINS, Section.PROFILE]) for c in contact_citizens(rows)]
        await record(core, actor, AuditAction.READ, contacts, request_id)
        await core.commit()
    trace = Trace(case_id, query, rows)
    return exposures_from_rows(trace, principal.holds(Scope.EXPOSURES_AUTHORITY))


exposures = strawberry.field(
    resolver=resolve_exposures,
    permission_classes=[TracesExposures],
    description="Every check-in of the case in [from, to] with who was at the same venue "
    "within overlapMinutes of it (exactly overlapMinutes apart counts), grouped by venue "
    "and time. For a health authority of the case's province; audited.",
)
