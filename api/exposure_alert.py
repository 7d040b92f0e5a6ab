"""Exposure alerts: a health authority marks a case, and everyone near it is told.

An alert says where and when the exposed citizen was (their own check-in) and
what to do next; nothing in it, in its ID or in any error names the case.
`markCase` needs a token holding `exposures:authority` for the case's province.
"""

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.exposure import (
    DEFAULT_OVERLAP_MINUTES,
    actor_of,
    exposure_query,
    period_problem,
    traceable_case,
)
from api.live import notices
from api.nodes import keep_order, own_citizen, parse_node_ids
from api.user_errors import UserError, UserErrorCode, user_error
from api.venue import Venue, venue_from_row
from auth.permissions import MarksCases
from auth.principal import PartnerPrincipal
from auth.scopes import Section
from models.audit import AuditAction, record
from models.exposure import exposure_rows
from models.exposure_alert import Exposed, alert_for, alerts_of, raise_alerts
from models.notify import Channel, Notice, publish_many
from models.stores import Store, fetching, reading

# How long after the exposure to watch for symptoms.
WATCH_DAYS = 14
HOTLINE = "1900 9095"


@strawberry.type(description="You were at a venue at the same time as a confirmed case.")
class ExposureAlert(relay.Node):
    id: relay.NodeID[str]
    venue: Venue
    exposed_at: dt.datetime = strawberry.field(description="When you checked in there.")
    raised_at: dt.datetime
    watch_until: dt.date = strawberry.field(
        description=f"Watch for symptoms until this day ({WATCH_DAYS} days after)."
    )
    advice: str = strawberry.field(description="What to do next.")

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["ExposureAlert | None"]:
        """Only the exposed citizen sees an alert (like their exposureAlerts)."""
        node_ids = list(node_ids)
        citizen_id = own_citizen(info)
        found = {}
        if citizen_id is not None:
            async with fetching(info.context.services.engines, Store.CORE) as core:
                for alert_id in {i for i in parse_node_ids(node_ids) if i is not None}:
                    row = await alert_for(core, alert_id, citizen_id)
                    if row is not None:
                        found[alert_id] = row
        return keep_order(node_ids, found, alert_from_row)


def _advice(watch_until: dt.date) -> str:
    return (
        f"Watch for fever, cough, shortness of breath or loss of taste or smell until "
        f"{watch_until:%d/%m/%Y}. Limit contact with others, wear a mask, and get tested "
        f"at your commune health station. If symptoms appear, stay home and call the "
        f"health hotline {HOTLINE}."
    )


def alert_from_row(row: Row[Any]) -> ExposureAlert:
    watch_until = (row.exposed_at + dt.timedelta(days=WATCH_DAYS)).date()
    return ExposureAlert(
        id=str(row.id),
        venue=venue_from_row(row, prefix="venue_"),
        exposed_at=row.exposed_at,
        raised_at=row.raised_at,
        watch_until=watch_until,
        advice=_advice(watch_until),
    )


async def my_exposure_alerts(info: strawberry.Info, citizen_id: uuid.UUID) -> list[ExposureAlert]:
    async with fetching(info.context.services.engines, Store.CORE) as core:
        rows = await alerts_of(core, [citizen_id])
    return [alert_from_row(row) for row in rows]


@strawberry.input
class MarkCaseInput:
    case_citizen_id: strawberry.ID
    start: dt.datetime = strawberry.field(name="from")
    to: dt.datetime
    overlap_minutes: int = DEFAULT_OVERLAP_MINUTES


@strawberry.type
class MarkCasePayload:
    alerts_raised: int = strawberry.field(
        description="Alerts raised by this call; marking the same case again raises only new ones."
    )
    citizens_alerted: int
    user_errors: list[UserError]


def _exposed(rows: list[Row[Any]]) -> list[Exposed]:
    return [
        Exposed(row.contact_citizen_id, row.contact_check_in_id, row.venue_id, row.contact_at)
        for row in rows
        if row.contact_citizen_id is not None
    ]


async def resolve_mark_case(info: strawberry.Info, input: MarkCaseInput) -> MarkCasePayload:
    problem = period_problem(input.start, input.to, input.overlap_minutes)
    if problem is not None:
        error = user_error(UserErrorCode.INVALID_VALUE, problem.message, problem.field)
        return MarkCasePayload(alerts_raised=0, citizens_alerted=0, user_errors=[error])
    principal: PartnerPrincipal = info.context.principal
    async with reading(info.context.services.engines, Store.CORE) as core:
        case_id = await traceable_case(core, principal, input.case_citizen_id)
        query = exposure_query(case_id, input.start, input.to, input.overlap_minutes)
        rows = await exposure_rows(core, query)
        raised = await raise_alerts(core, case_id, _exposed(rows), principal.partner_id)
        # Sent when the transaction commits; a notice names the exposed and the alert only.
        await publish_many(
            core, Channel.EXPOSURE_ALERTS, [Notice(a.citizen_id, a.id) for a in raised]
        )
        await record(
            core,
            actor_of(principal),
            AuditAction.MARK_CASE,
            [(case_id, [Section.CHECKINS])],
            info.context.request_id,
        )
        await core.commit()
    return MarkCasePayload(
        alerts_raised=len(raised),
        citizens_alerted=len({alert.citizen_id for alert in raised}),
        user_errors=[],
    )


mark_case = strawberry.mutation(
    resolver=resolve_mark_case,
    permission_classes=[MarksCases],
    description="Declare a citizen a confirmed case: everyone together with them in "
    "[from, to] gets an exposure alert that never names the case. Idempotent.",
)


async def exposure_alert_raised(info: strawberry.Info) -> AsyncGenerator[ExposureAlert, None]:
    async for notice, _ in notices(info, Channel.EXPOSURE_ALERTS):
        # Read again, and only if it is the subscriber's own: a notice names, never shows.
        async with fetching(info.context.services.engines, Store.CORE) as core:
            row = await alert_for(core, notice.subject_id, notice.citizen_id)
        if row is not None:
            yield alert_from_row(row)
