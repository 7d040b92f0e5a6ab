"""Verifying claimed identifiers from records, and re-matching records once they are verified.

A claim is confirmed by a record (a dose or a sample) that carries the
citizen's OTP-verified phone and the claimed identifier, under the same name
and date of birth: the site saw the person, their card and their phone at once.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.base import typed_key
from models.identifiers import (
    IdentifierKind,
    fold_name,
    normalize_insurance_number_or_none,
    normalize_national_id_or_none,
    normalize_phone_or_none,
    typed_forms_of_phone,
)
from models.link import OCCURRED_AT_COLUMN, RecordStore
from models.matching import RecordIdentity, RecordToLink
from models.profile import Identifier, Profile
from models.testing import Sample
from models.vaccination import VaccinationRecord

RECORD_TABLES: dict[RecordStore, sa.Table] = {
    RecordStore.IMMUNIZATION: VaccinationRecord.__table__,  # type: ignore[dict-item]
    RecordStore.TESTING: Sample.__table__,  # type: ignore[dict-item]
}


@dataclass(frozen=True)
class CarriedIdentity:
    """What a record carries, normalised."""

    store: RecordStore
    record_id: uuid.UUID
    province_code: str
    full_name: str
    identity: RecordIdentity
    occurred_at: datetime

    def carries(self) -> set[Identifier]:
        carried: set[Identifier] = set()
        if self.identity.national_id is not None:
            carried.add(self.identity.national_id)
        if self.identity.insurance_number is not None:
            carried.add((IdentifierKind.BHYT, self.identity.insurance_number))
        return carried

    def to_link(self) -> RecordToLink:
        return RecordToLink(self.record_id, self.province_code, self.identity, self.occurred_at)


def _carried(store: RecordStore, row: sa.Row[Any]) -> CarriedIdentity:
    return CarriedIdentity(
        store=store,
        record_id=row.id,
        province_code=row.province_code,
        full_name=row.full_name,
        identity=RecordIdentity(
            national_id=normalize_national_id_or_none(row.national_id),
            insurance_number=normalize_insurance_number_or_none(row.insurance_number),
            phone=normalize_phone_or_none(row.phone),
            date_of_birth=row.date_of_birth,
            full_name=fold_name(row.full_name),
        ),
        occurred_at=row.occurred_at,
    )


def _columns(store: RecordStore, table: sa.Table) -> list[sa.ColumnElement[Any]]:
    c = table.c
    return [
        c[OCCURRED_AT_COLUMN[store]].label("occurred_at"),
        c.id,
        c.province_code,
        c.full_name,
        c.national_id,
        c.insurance_number,
        c.phone,
        c.date_of_birth,
    ]


def carrying_query(
    store: RecordStore,
    identifiers: Iterable[Identifier] = (),
    phone: str | None = None,
    date_of_birth: date | None = None,
    record_ids: Sequence[uuid.UUID] = (),
) -> sa.Select[Any] | None:
    """The search of records_carrying (None: nothing to search by); each condition is
    served by an index of the record's store."""
    table = RECORD_TABLES[store]
    conditions: list[sa.ColumnElement[bool]] = []
    national_ids = [v for k, v in identifiers if k is not IdentifierKind.BHYT]
    insurance_numbers = [v for k, v in identifiers if k is IdentifierKind.BHYT]
    # Typed forms are found by their key, then normalised and matched in full (see _carried).
    if national_ids:
        conditions.append(typed_key(table.c.national_id).in_(national_ids))
    if insurance_numbers:
        conditions.append(typed_key(table.c.insurance_number).in_(insurance_numbers))
    if phone is not None and date_of_birth is not None:
        conditions.append(
            sa.and_(
                typed_key(table.c.phone).in_(typed_forms_of_phone(phone)),
                table.c.date_of_birth == date_of_birth,
            )
        )
    if record_ids:
        conditions.append(table.c.id.in_(record_ids))
    if not conditions:
        return None
    return sa.select(*_columns(store, table)).where(sa.or_(*conditions))


async def records_carrying(
    connection: AsyncConnection,
    store: RecordStore,
    identifiers: Iterable[Identifier] = (),
    phone: str | None = None,
    date_of_birth: date | None = None,
    record_ids: Sequence[uuid.UUID] = (),
) -> list[CarriedIdentity]:
    """Records of one store that carry any of the identifiers, or the phone with that birth
    date, or have one of the IDs."""
    query = carrying_query(store, identifiers, phone, date_of_birth, record_ids)
    if query is None:
        return []
    return [_carried(store, row) for row in (await connection.execute(query)).all()]


@dataclass(frozen=True)
class Confirmation:
    identifiers: list[Identifier]
    date_of_birth: date
    record: CarriedIdentity

    @property
    def source(self) -> str:
        return f"record:{self.record.store.value}:{self.record.record_id}"


def confirmation(profile: Profile, records: Iterable[CarriedIdentity]) -> Confirmation | None:
    """The first record that confirms some of the profile's claims, and what it confirms."""
    claimed = set(profile.claimed())
    birth = profile.claimed_date_of_birth or profile.date_of_birth
    if not claimed or birth is None or not profile.full_name.strip():
        return None
    for record in records:
        confirmed = claimed & record.carries()
        if (
            confirmed
            and profile.phone is not None
            and record.identity.phone == profile.phone
            and record.identity.date_of_birth == birth
            and fold_name(record.full_name) == fold_name(profile.full_name)
        ):
            return Confirmation(sorted(confirmed), birth, record)
    return None
