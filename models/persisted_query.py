"""Persisted queries: GraphQL documents registered under their SHA-256 (core store).

Kept in PostgreSQL so a document registered through one process runs in every other.
A hash names one document forever, so a process may keep what it has read.
"""

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow


class PersistedQuery(CoreTable, table=True):
    __tablename__ = "persisted_queries"

    sha256: str = Field(primary_key=True, min_length=64, max_length=64)
    document: str = Field(sa_type=sa.Text)
    registered_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


_TABLE = PersistedQuery.__table__
_FIND = sa.select(_TABLE.c.document).where(_TABLE.c.sha256 == sa.bindparam("sha256"))


async def find_document(core: AsyncConnection, sha256: str) -> str | None:
    return (await core.execute(_FIND, {"sha256": sha256})).scalar_one_or_none()


async def register_document(core: AsyncConnection, document: str) -> str:
    """Store document under its hash (again is a no-op) and return the hash."""
    sha256 = document_hash(document)
    statement = (
        sa.dialects.postgresql.insert(_TABLE)
        .values(sha256=sha256, document=document, registered_at=sa.func.now())
        .on_conflict_do_nothing(index_elements=[_TABLE.c.sha256])
    )
    await core.execute(statement)
    return sha256
