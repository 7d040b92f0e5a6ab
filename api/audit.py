"""The access log a citizen reads: who read or changed which part of their data, and when."""

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from models.audit import AuditAction as AuditActionEnum

strawberry.enum(AuditActionEnum, name="AuditAction")
ACCESS_LOG_CURSOR = "audit"


@strawberry.type
class AccessLogEntry:
    id: strawberry.ID
    at: dt.datetime
    actor_kind: str = strawberry.field(description="PARTNER, or another kind of principal.")
    actor_name: str = strawberry.field(description="The partner's name at the time.")
    action: AuditActionEnum
    sections: list[str] = strawberry.field(description="The parts of your data concerned.")
    request_id: str = strawberry.field(description="Quote it when asking about this access.")


@strawberry.type
class AccessLogConnection(relay.Connection[AccessLogEntry]):  # type: ignore[type-var]
    pass


def access_log_entry_from_row(row: Row[Any]) -> AccessLogEntry:
    return AccessLogEntry(
        id=strawberry.ID(str(row.id)),
        at=row.at,
        actor_kind=row.principal_kind,
        actor_name=row.principal_name,
        action=AuditActionEnum(row.action),
        sections=list(row.sections),
        request_id=row.request_id,
    )
