"""The audit log: who read or changed which part of whose data, when (core store).

Rows are only ever inserted: the table refuses UPDATE and DELETE (see the
core_0002 migration), so no code path, buggy or not, can rewrite history.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, PageKey, utcnow


class AuditAction(StrEnum):
    READ = "READ"
    VERIFY = "VERIFY"
    # An authority traced the citizen's contacts (exposures), or marked them as a case.
    TRACE = "TRACE"
    MARK_CASE = "MARK_CASE"
    # A province operator linked a record to the citizen, or took it away from them.
    LINK = "LINK"
    UNLINK = "UNLINK"
    # A province operator answered the citizen's report of a missing or wrong record.
    ANSWER = "ANSWER"
    # A partner wrote or voided a record that is linked to the citizen.
    WRITE = "WRITE"
    # A province operator issued, printed again or revoked the citizen's personal QR card.
    ISSUE_CARD = "ISSUE_CARD"
    PRINT_CARD = "PRINT_CARD"
    REVOKE_CARD = "REVOKE_CARD"
    # A province operator registered the citizen (no phone), or gave them a phone later.
    REGISTER = "REGISTER"
    ADD_PHONE = "ADD_PHONE"
    # A province operator corrected the details it had typed (name, birth date, numbers).
    CORRECT = "CORRECT"
    # A scanner checked the citizen's health pass.
    PASS_CHECK = "PASS_CHECK"
    PASS_REVOKE = "PASS_REVOKE"


class AuditEntry(CoreTable, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_citizen_time", "citizen_id", sa.text("at DESC"), sa.text("id DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # No foreign key: the trail outlives what it describes.
    citizen_id: uuid.UUID
    principal_kind: str = Field(max_length=16)
    principal_id: str = Field(max_length=64)
    # The principal's name at the time, as the citizen should read it.
    principal_name: str = Field(max_length=100)
    action: AuditAction = Field(sa_type=sa.String(16))
    sections: list[str] = Field(sa_type=ARRAY(sa.String(40)))
    request_id: str = Field(max_length=64)


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str
    name: str


async def record(
    core: AsyncConnection,
    actor: Actor,
    action: AuditAction,
    entries: Sequence[tuple[uuid.UUID, Sequence[str]]],
    request_id: str,
) -> None:
    """One row per (citizen, sections) pair."""
    if not entries:
        return
    now = utcnow()
    await core.execute(
        sa.insert(AuditEntry.__table__),
        [
            {
                "id": uuid.uuid4(),
                "at": now,
                "citizen_id": citizen_id,
                "principal_kind": actor.kind,
                "principal_id": actor.id,
                "principal_name": actor.name,
                "action": action.value,
                "sections": sorted(sections),
                "request_id": request_id[:64],
            }
            for citizen_id, sections in entries
        ],
    )


async def audit_page(core: AsyncConnection, key: PageKey) -> list[sa.Row[Any]]:
    """Up to key.limit of the citizen's audit rows, newest first, after the cursor."""
    table = AuditEntry.__table__
    query = sa.select(table).where(table.c.citizen_id == key.citizen_id)
    if key.after_at is not None:
        query = query.where(sa.tuple_(table.c.at, table.c.id) < (key.after_at, key.after_id))
    query = query.order_by(table.c.at.desc(), table.c.id.desc()).limit(key.limit)
    return list((await core.execute(query)).all())


async def audit_entries(
    core: AsyncConnection, citizen_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[sa.Row[Any]]:
    """Those of the audit rows that are about this citizen."""
    table = AuditEntry.__table__
    query = sa.select(table).where(table.c.citizen_id == citizen_id, table.c.id.in_(ids))
    return list((await core.execute(query)).all())
