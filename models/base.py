"""One SQLModel base per store, each with its own metadata and PostgreSQL schema."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from models.identifiers import SEPARATORS_PATTERN
from models.stores import Store

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _registry(store: Store) -> registry:
    return registry(metadata=MetaData(schema=store.schema, naming_convention=_NAMING))


class CoreTable(SQLModel, registry=_registry(Store.CORE)):
    __table__: ClassVar[sa.Table]


class ImmunizationTable(SQLModel, registry=_registry(Store.IMMUNIZATION)):
    __table__: ClassVar[sa.Table]


class TestingTable(SQLModel, registry=_registry(Store.TESTING)):
    __table__: ClassVar[sa.Table]


METADATA = {
    Store.CORE: CoreTable.metadata,
    Store.IMMUNIZATION: ImmunizationTable.metadata,
    Store.TESTING: TestingTable.metadata,
}


class RecordStatus(StrEnum):
    """A vaccination record or a sample, as its source last said: valid, or entered in error."""

    VALID = "VALID"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PageKey:
    """A page of one citizen's rows, newest first: up to limit rows after (after_at, after_id)."""

    citizen_id: uuid.UUID
    limit: int
    after_at: datetime | None = None
    after_id: uuid.UUID | None = None


def any_of(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
    """`column = ANY(:name)`: one array parameter, so one prepared statement whatever the
    number of values (an IN list would be a new statement for every length)."""
    return column == sa.any_(sa.bindparam(name, type_=ARRAY(column.type)))


def typed_key(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """An identifier as typed, without separators and in capitals: what records are searched
    by. The pattern is written into the statement, not bound, so that each record store's
    index on this expression serves the search."""
    return sa.func.upper(
        sa.func.regexp_replace(
            column,
            sa.literal_column(f"'{SEPARATORS_PATTERN}'"),
            sa.literal_column("''"),
            sa.literal_column("'g'"),
        )
    )


def typed_identifier_indexes(table: sa.Table) -> None:
    """The indexes records are searched by (a migration of each record store creates them)."""
    c = table.c
    sa.Index(f"ix_{table.name}_typed_national_id", typed_key(c.national_id))
    sa.Index(f"ix_{table.name}_typed_insurance_number", typed_key(c.insurance_number))
    sa.Index(f"ix_{table.name}_typed_phone_dob", typed_key(c.phone), c.date_of_birth)
