"""Exposure alerts: what a citizen is told after being near a case (core store).

An alert names the exposed citizen's own check-in (venue and time) and nothing
of the case; the case's ID is kept only so that marking the same case again
raises nothing twice, and it never leaves this module's table.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class ExposureAlert(CoreTable, table=True):
    __tablename__ = "exposure_alerts"
    __table_args__ = (
        sa.UniqueConstraint("case_citizen_id", "check_in_id"),
        sa.Index("ix_exposure_alerts_citizen_time", "citizen_id", sa.text("exposed_at DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The exposed citizen, who reads the alert.
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE")
    # No foreign key: the alert outlives the case's account, and is never shown.
    case_citizen_id: uuid.UUID
    # The exposed citizen's check-in that put them near the case.
    check_in_id: uuid.UUID
    venue_id: uuid.UUID = Field(foreign_key="venues.id")
    exposed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    raised_by: uuid.UUID
    raised_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class Exposed:
    """One check-in of an exposed citizen."""

    citizen_id: uuid.UUID
    check_in_id: uuid.UUID
    venue_id: uuid.UUID
    exposed_at: datetime


@dataclass(frozen=True)
class RaisedAlert:
    id: uuid.UUID
    citizen_id: uuid.UUID


async def raise_alerts(
    core: AsyncConnection, case_id: uuid.UUID, exposed: Sequence[Exposed], raised_by: uuid.UUID
) -> list[RaisedAlert]:
    """Insert the alerts not raised before for this case; returns only the new ones."""
    if not exposed:
        return []
    table = ExposureAlert.__table__
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "citizen_id": item.citizen_id,
            "case_citizen_id": case_id,
            "check_in_id": item.check_in_id,
            "venue_id": item.venue_id,
            "exposed_at": item.exposed_at,
            "raised_by": raised_by,
            "raised_at": now,
        }
        for item in {item.check_in_id: item for item in exposed}.values()
    ]
    statement = (
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["case_citizen_id", "check_in_id"])
        .returning(table.c.id, table.c.citizen_id)
    )
    return [RaisedAlert(row.id, row.citizen_id) for row in await core.execute(statement)]


_ALERT_COLUMNS = """
    a.id, a.citizen_id, a.exposed_at, a.raised_at,
    v.code AS venue_code, v.name AS venue_name, v.kind AS venue_kind,
    v.province_code AS venue_province_code, v.district AS venue_district,
    v.address AS venue_address, v.closed_at AS venue_closed_at
"""


async def alerts_of(core: AsyncConnection, citizen_ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    """The citizens' alerts (with venue), most recent exposure first."""
    query = sa.text(
        f"""
        SELECT {_ALERT_COLUMNS}
        FROM core.exposure_alerts a JOIN core.venues v ON v.id = a.venue_id
        WHERE a.citizen_id = ANY(CAST(:ids AS uuid[]))
        ORDER BY a.exposed_at DESC, a.id DESC
        """
    )
    return list((await core.execute(query, {"ids": list(citizen_ids)})).all())


async def alert_for(
    core: AsyncConnection, alert_id: uuid.UUID, citizen_id: uuid.UUID
) -> sa.Row[Any] | None:
    """One alert (with venue), only if it is this citizen's."""
    query = sa.text(
        f"""
        SELECT {_ALERT_COLUMNS}
        FROM core.exposure_alerts a JOIN core.venues v ON v.id = a.venue_id
        WHERE a.id = :id AND a.citizen_id = :citizen_id
        """
    )
    return (await core.execute(query, {"id": alert_id, "citizen_id": citizen_id})).first()
