"""Health passes as issued, and revoked (core store).

A citizen has at most one live (unrevoked) pass: a new one supersedes the old,
which counts as revoked from then on, so a pass that shows a colour no longer
true stops verifying, online at once and offline through the revoked list.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from models.base import CoreTable, utcnow
from models.citizen import Citizen
from models.health_status import (
    Dose,
    HealthStatus,
    PassRules,
    TestRecord,
    doses_from_rows,
    evaluate,
    tests_from_rows,
)
from models.link import RecordStore, linked_record_ids
from models.stores import Engines, Store, fetching
from models.testing import samples_by_ids
from models.vaccination import valid_records_by_ids


class Revoker(StrEnum):
    CITIZEN = "CITIZEN"
    OPERATOR = "OPERATOR"
    # Replaced by a newer pass (the colour or what the pass shows changed).
    SUPERSEDED = "SUPERSEDED"


class HealthPass(CoreTable, table=True):
    __tablename__ = "health_passes"
    __table_args__ = (
        sa.Index(
            "uq_health_passes_live_citizen",
            "citizen_id",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
        sa.Index(
            "ix_health_passes_revoked_valid_until",
            "valid_until",
            postgresql_where=sa.text("revoked_at IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizens.id", ondelete="CASCADE", index=True)
    colour: str = Field(max_length=8)
    issued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    valid_until: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # The signed credential, so the citizen shows the same QR code while the pass lasts.
    credential: str = Field(sa_type=sa.Text)
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_by: Revoker | None = Field(default=None, sa_type=sa.String(16))


class HealthPassPreference(CoreTable, table=True):
    """What the citizen chose their pass to show."""

    __tablename__ = "health_pass_preferences"

    citizen_id: uuid.UUID = Field(primary_key=True, foreign_key="citizens.id", ondelete="CASCADE")
    shows_full_name: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


@dataclass(frozen=True)
class Holder:
    """What a pass may say about its holder."""

    full_name: str
    date_of_birth: date | None
    shows_full_name: bool


_passes = HealthPass.__table__
_preferences = HealthPassPreference.__table__
_citizens = Citizen.__table__


def still_shows_the_colour(
    colour: str, valid_until: datetime, status: HealthStatus, now: datetime
) -> bool:
    """A pass is right while it shows today's colour and ends no later than that colour."""
    if valid_until <= now or colour != status.colour.value:
        return False
    return status.valid_until is None or valid_until <= status.valid_until


async def lock_holder(core: AsyncConnection, citizen_id: uuid.UUID) -> Holder | None:
    """The citizen as a pass shows them, locked for the transaction: one mint at a time."""
    row = (
        await core.execute(
            sa.select(
                _citizens.c.full_name,
                _citizens.c.date_of_birth,
                sa.func.coalesce(_preferences.c.shows_full_name, False).label("shows_full_name"),
            )
            .outerjoin(_preferences, _preferences.c.citizen_id == _citizens.c.id)
            .where(_citizens.c.id == citizen_id)
            .with_for_update(of=_citizens)
        )
    ).first()
    return Holder(row.full_name, row.date_of_birth, row.shows_full_name) if row else None


async def live_pass(core: AsyncConnection, citizen_id: uuid.UUID) -> sa.Row[Any] | None:
    query = sa.select(_passes).where(
        _passes.c.citizen_id == citizen_id, _passes.c.revoked_at.is_(None)
    )
    return (await core.execute(query)).first()


async def replace_live_pass(core: AsyncConnection, row: dict[str, Any]) -> None:
    """Supersede the citizen's live pass (if any) with this one."""
    await core.execute(
        sa.update(_passes)
        .where(_passes.c.citizen_id == row["citizen_id"], _passes.c.revoked_at.is_(None))
        .values(revoked_at=row["issued_at"], revoked_by=Revoker.SUPERSEDED.value)
    )
    await core.execute(sa.insert(_passes).values(row))


async def pass_by_id(core: AsyncConnection, pass_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await core.execute(sa.select(_passes).where(_passes.c.id == pass_id))).first()


async def revoke(
    core: AsyncConnection, pass_id: uuid.UUID, by: Revoker, now: datetime | None = None
) -> sa.Row[Any] | None:
    """Revoke the pass (a pass already revoked stays as it was); None when there is none."""
    await core.execute(
        sa.update(_passes)
        .where(_passes.c.id == pass_id, _passes.c.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_by=by.value)
    )
    return await pass_by_id(core, pass_id)


async def revoke_live_pass(core: AsyncConnection, citizen_id: uuid.UUID, by: Revoker) -> None:
    await core.execute(
        sa.update(_passes)
        .where(_passes.c.citizen_id == citizen_id, _passes.c.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by=by.value)
    )


async def revoked_pass_ids(core: AsyncConnection, now: datetime) -> list[uuid.UUID]:
    """Revoked passes that would otherwise still be valid: after its expiry a pass needs no
    revocation, so the list stays as short as the passes in use."""
    query = (
        sa.select(_passes.c.id)
        .where(_passes.c.revoked_at.is_not(None), _passes.c.valid_until > now)
        .order_by(_passes.c.id)
    )
    return list((await core.execute(query)).scalars())


async def set_shows_full_name(core: AsyncConnection, citizen_id: uuid.UUID, shows: bool) -> None:
    statement = insert(_preferences).values(
        citizen_id=citizen_id, shows_full_name=shows, updated_at=utcnow()
    )
    await core.execute(
        statement.on_conflict_do_update(
            index_elements=[_preferences.c.citizen_id],
            set_={"shows_full_name": shows, "updated_at": statement.excluded.updated_at},
        )
    )


async def records_for_rules(
    engines: Engines, citizen_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[list[Dose], list[TestRecord]]]:
    """Each citizen's valid doses (oldest first) and test results, as the rules read them.
    The caller decides who may see them."""
    async with fetching(engines, Store.CORE) as core:
        linked = await linked_record_ids(core, list(citizen_ids))
    owner = {
        record_id: citizen_id
        for citizen_id, by_store in linked.items()
        for records in by_store.values()
        for record_id in records
    }
    doses: dict[uuid.UUID, list[Any]] = {citizen_id: [] for citizen_id in citizen_ids}
    tests: dict[uuid.UUID, list[Any]] = {citizen_id: [] for citizen_id in citizen_ids}
    dose_ids = [i for ids in linked.values() for i in ids[RecordStore.IMMUNIZATION]]
    sample_ids = [i for ids in linked.values() for i in ids[RecordStore.TESTING]]
    if dose_ids:
        async with fetching(engines, Store.IMMUNIZATION) as immunization:
            for row in await valid_records_by_ids(immunization, dose_ids):
                doses[owner[row.id]].append(row)
    if sample_ids:
        async with fetching(engines, Store.TESTING) as testing:
            for row in await samples_by_ids(testing, sample_ids):
                tests[owner[row.id]].append(row)
    return {
        citizen_id: (doses_from_rows(doses[citizen_id]), tests_from_rows(tests[citizen_id]))
        for citizen_id in citizen_ids
    }


async def revoke_outdated_passes(
    engines: Engines, citizen_ids: Sequence[uuid.UUID], rules: PassRules, now: datetime
) -> list[uuid.UUID]:
    """After these citizens' records changed: revoke each live pass that no longer shows the
    right colour, so scanners stop accepting it (online at once, offline with the next
    revoked list). The next read of the citizen's pass mints the right one."""
    async with engines.reader(Store.CORE).connect() as core:
        query = sa.select(_passes).where(
            _passes.c.citizen_id.in_(list(citizen_ids)), _passes.c.revoked_at.is_(None)
        )
        live = {row.citizen_id: row for row in (await core.execute(query)).all()}
    if not live:
        return []
    records = await records_for_rules(engines, list(live))
    outdated = [
        row.id
        for citizen_id, row in live.items()
        if not still_shows_the_colour(
            row.colour, row.valid_until, evaluate(*records[citizen_id], rules, now), now
        )
    ]
    if outdated:
        async with engines[Store.CORE].begin() as core:
            await core.execute(
                sa.update(_passes)
                .where(_passes.c.id.in_(outdated), _passes.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=Revoker.SUPERSEDED.value)
            )
    return outdated
