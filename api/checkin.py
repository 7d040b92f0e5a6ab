"""Check-ins at venues, with the health declaration made there."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.nodes import load_nodes
from api.venue import Venue, venue_from_row
from models.checkin import CheckInMethod as CheckInMethodEnum
from models.retention import deletes_at

strawberry.enum(CheckInMethodEnum, name="CheckInMethod")


@strawberry.type
class HealthDeclaration:
    fever: bool | None
    cough: bool | None
    shortness_of_breath: bool | None
    loss_of_taste_or_smell: bool | None
    contact_with_case: bool | None
    travelled_last_14_days: bool | None
    travelled_from: str | None


@strawberry.type
class CheckIn(relay.Node):
    id: relay.NodeID[str]
    checked_in_at: dt.datetime
    method: CheckInMethodEnum
    venue: Venue
    health_declaration: HealthDeclaration | None

    @strawberry.field(
        description="When retention deletes this check-in (at the latest, the next "
        "maintenance run after it)."
    )
    def deletes_at(self, info: strawberry.Info) -> dt.datetime:
        return deletes_at(
            self.checked_in_at, info.context.services.settings.check_in_retention_days
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["CheckIn | None"]:
        rows = await load_nodes(info.context.loaders.check_in_node.load, node_ids)
        return [check_in_from_row(row) if row is not None else None for row in rows]


@strawberry.type
class CheckInConnection(relay.Connection[CheckIn]):
    pass


def declaration_from_json(answers: dict[str, Any] | None) -> HealthDeclaration | None:
    if answers is None:
        return None
    return HealthDeclaration(
        fever=answers.get("fever"),
        cough=answers.get("cough"),
        shortness_of_breath=answers.get("shortnessOfBreath"),
        loss_of_taste_or_smell=answers.get("lossOfTasteOrSmell"),
        contact_with_case=answers.get("contactWithCase"),
        travelled_last_14_days=answers.get("travelledLast14Days"),
        travelled_from=answers.get("travelledFrom"),
    )


def check_in_from_row(row: Row[Any]) -> CheckIn:
    return CheckIn(
        id=str(row.id),
        checked_in_at=row.checked_in_at,
        method=CheckInMethodEnum(row.method),
        venue=venue_from_row(row, prefix="venue_"),
        health_declaration=declaration_from_json(row.declaration),
    )
