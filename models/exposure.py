"""The zone around a case: who was at the same venue at the same time (core store).

Check-ins are moments of arrival. Two check-ins at one venue are *together*
when they are at most `overlap` apart: exactly `overlap` apart counts, one
second more does not. At a worker bus, check-ins made on the same trip are
together whatever their times (within a day either side: an operator may
reuse a trip's name on another day), check-ins on different trips never are,
and a check-in without a trip falls back to the time window. Unlinked staff
check-ins (an insurance number no citizen has verified yet) are contacts like
any other. All times are instants (timestamptz), so midnight and month
(partition) boundaries change nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class ExposureQuery:
    case_id: uuid.UUID
    start: datetime
    end: datetime
    overlap: timedelta


# How far apart two check-ins of one trip may be and still be the same trip.
TRIP_SPAN = timedelta(days=1)

# One row per (case check-in, contact check-in); a case check-in with no contact comes
# once with the contact columns null. The case's own check-ins are never contacts.
_EXPOSURES = sa.text(
    """
    SELECT v.id AS visit_id, v.checked_in_at AS visit_at,
           ve.id AS venue_id, ve.code AS venue_code, ve.name AS venue_name,
           ve.kind AS venue_kind, ve.province_code AS venue_province_code,
           ve.district AS venue_district, ve.address AS venue_address,
           ve.closed_at AS venue_closed_at,
           v.trip_id AS visit_trip_id,
           o.id AS contact_check_in_id, o.citizen_id AS contact_citizen_id,
           o.checked_in_at AS contact_at, o.method AS contact_method,
           o.insurance_number AS contact_insurance_number, o.same_trip AS contact_same_trip,
           c.full_name AS contact_name, c.phone AS contact_phone
    FROM core.check_ins v
    JOIN core.venues ve ON ve.id = v.venue_id
    LEFT JOIN LATERAL (
        SELECT o.id, o.citizen_id, o.checked_in_at, o.method, o.insurance_number,
               true AS same_trip
        FROM core.check_ins o
        WHERE v.trip_id IS NOT NULL
          AND o.venue_id = v.venue_id AND o.trip_id = v.trip_id
          AND o.checked_in_at BETWEEN v.checked_in_at - CAST(:trip_span AS interval)
                                  AND v.checked_in_at + CAST(:trip_span AS interval)
          AND o.citizen_id IS DISTINCT FROM v.citizen_id
        UNION ALL
        SELECT o.id, o.citizen_id, o.checked_in_at, o.method, o.insurance_number,
               false AS same_trip
        FROM core.check_ins o
        WHERE o.venue_id = v.venue_id
          AND o.checked_in_at BETWEEN v.checked_in_at - CAST(:overlap AS interval)
                                  AND v.checked_in_at + CAST(:overlap AS interval)
          AND (v.trip_id IS NULL OR o.trip_id IS NULL)
          AND o.citizen_id IS DISTINCT FROM v.citizen_id
    ) o ON true
    LEFT JOIN core.citizens c ON c.id = o.citizen_id
    WHERE v.citizen_id = :case_id
      AND v.checked_in_at BETWEEN :period_start AND :period_end
    ORDER BY v.checked_in_at, v.id, o.checked_in_at, o.id
    """
)


async def exposure_rows(core: AsyncConnection, query: ExposureQuery) -> list[sa.Row[Any]]:
    """Every check-in of the case in [start, end] (both included), each with the check-ins
    together with it."""
    result = await core.execute(
        _EXPOSURES,
        {
            "case_id": query.case_id,
            "period_start": query.start,
            "period_end": query.end,
            "overlap": query.overlap,
            "trip_span": TRIP_SPAN,
        },
    )
    return list(result.all())
