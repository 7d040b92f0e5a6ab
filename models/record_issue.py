"""Citizens' reports of a missing or wrong record, and operators' answers (core store)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, PageKey, utcnow
from models.link import RecordStore


class IssueKind(StrEnum):
    MISSING = "MISSING"  # a dose or test I had does not show
    WRONG = "WRONG"  # a record shows wrong details (date, vaccine, result)
    NOT_MINE = "NOT_MINE"  # a record that is someone else's shows as mine


class IssueStatus(StrEnum):
    OPEN = "OPEN"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"


class RecordIssue(CoreTable, table=True):
    __tablename__ = "record_issues"
    __table_args__ = (
        sa.Index("ix_record_issues_citizen", "citizen_id", sa.text("created_at DESC"), "id"),
        sa.Index("ix_record_issues_province", "province_code", "status", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE")
    store: RecordStore = Field(sa_type=sa.String(16))
    kind: IssueKind = Field(sa_type=sa.String(16))
    # The record concerned, when the citizen can see it (a wrong dose); none for a missing one.
    record_id: uuid.UUID | None = None
    # Where and when, as the citizen remembers it; the province decides whose queue it is.
    province_code: str = Field(max_length=2)
    site: str | None = Field(default=None, max_length=200)
    occurred_on: date | None = None
    vaccine_code: str | None = Field(default=None, max_length=20)
    dose_number: int | None = None
    description: str = Field(max_length=1000)
    status: IssueStatus = Field(default=IssueStatus.OPEN, sa_type=sa.String(16))
    answer: str | None = Field(default=None, max_length=1000)
    answered_by: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


_issues = RecordIssue.__table__


@dataclass(frozen=True)
class NewIssue:
    citizen_id: uuid.UUID
    store: RecordStore
    kind: IssueKind
    province_code: str
    description: str
    record_id: uuid.UUID | None = None
    site: str | None = None
    occurred_on: date | None = None
    vaccine_code: str | None = None
    dose_number: int | None = None


async def file_issue(core: AsyncConnection, issue: NewIssue) -> sa.Row[Any]:
    statement = (
        sa.insert(_issues)
        .values(
            id=uuid.uuid4(),
            citizen_id=issue.citizen_id,
            store=issue.store.value,
            kind=issue.kind.value,
            record_id=issue.record_id,
            province_code=issue.province_code,
            site=issue.site,
            occurred_on=issue.occurred_on,
            vaccine_code=issue.vaccine_code,
            dose_number=issue.dose_number,
            description=issue.description,
            status=IssueStatus.OPEN.value,
            created_at=utcnow(),
        )
        .returning(_issues)
    )
    return (await core.execute(statement)).one()


async def issues_page(core: AsyncConnection, key: PageKey) -> list[sa.Row[Any]]:
    """A citizen's reports, newest first."""
    query = sa.select(_issues).where(_issues.c.citizen_id == key.citizen_id)
    if key.after_at is not None:
        query = query.where(
            sa.tuple_(_issues.c.created_at, _issues.c.id) < (key.after_at, key.after_id)
        )
    query = query.order_by(_issues.c.created_at.desc(), _issues.c.id.desc()).limit(key.limit)
    return list((await core.execute(query)).all())


async def issues_by_ids(core: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    return list((await core.execute(sa.select(_issues).where(_issues.c.id.in_(ids)))).all())


async def province_issues(
    core: AsyncConnection,
    province_code: str,
    statuses: Sequence[IssueStatus],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[sa.Row[Any]]:
    """A province's reports in those statuses, oldest first."""
    query = sa.select(_issues).where(
        _issues.c.province_code == province_code,
        _issues.c.status.in_([s.value for s in statuses]),
    )
    if after is not None:
        query = query.where(sa.tuple_(_issues.c.created_at, _issues.c.id) > after)
    query = query.order_by(_issues.c.created_at, _issues.c.id).limit(limit)
    return list((await core.execute(query)).all())


async def answer_issue(
    core: AsyncConnection,
    issue_id: uuid.UUID,
    province_code: str,
    answer: str,
    status: IssueStatus,
    answered_by: str,
) -> sa.Row[Any] | None:
    """Answer (and perhaps close) a report of the province; None when it has none by that ID."""
    statement = (
        sa.update(_issues)
        .where(_issues.c.id == issue_id, _issues.c.province_code == province_code)
        .values(answer=answer, status=status.value, answered_by=answered_by, answered_at=utcnow())
        .returning(_issues)
    )
    return (await core.execute(statement)).first()
