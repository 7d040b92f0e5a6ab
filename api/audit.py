"""The access log a citizen reads: who read or changed which part of their data, and when."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.nodes import keep_order, own_citizen, parse_node_ids
from models.audit import AuditAction as AuditActionEnum
from models.audit import audit_entries
from models.stores import Store, fetching

strawberry.enum(AuditActionEnum, name="AuditAction")
ACCESS_LOG_CURSOR = "audit"


@strawberry.type
class AccessLogEntry(relay.Node):
    id: relay.NodeID[str]
    at: dt.datetime
    actor_kind: str = strawberry.field(description="PARTNER, or another kind of principal.")
    actor_name: str = strawberry.field(description="The partner's name at the time.")
    action: AuditActionEnum
    sections: list[str] = strawberry.field(description="The parts of your data concerned.")
    request_id: str = strawberry.field(description="Quote it when asking about this access.")

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["AccessLogEntry | None"]:
        """Only the citizen the entry is about sees it (like their accessLog)."""
        node_ids = list(node_ids)
        citizen_id = own_citizen(info)
        wanted = [i for i in parse_node_ids(node_ids) if i is not None]
        found = {}
        if citizen_id is not None and wanted:
            async with fetching(info.context.services.engines, Store.CORE) as core:
                found = {row.id: row for row in await audit_entries(core, citizen_id, wanted)}
        return keep_order(node_ids, found, access_log_entry_from_row)


@strawberry.type
class AccessLogConnection(relay.Connection[AccessLogEntry]):  # type: ignore[type-var]
    pass


def access_log_entry_from_row(row: Row[Any]) -> AccessLogEntry:
    return AccessLogEntry(
        id=str(row.id),
        at=row.at,
        actor_kind=row.principal_kind,
        actor_name=row.principal_name,
        action=AuditActionEnum(row.action),
        sections=list(row.sections),
        request_id=row.request_id,
    )
