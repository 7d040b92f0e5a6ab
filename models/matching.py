"""Deterministic identity matching of site-typed records to citizens.

Only verified identifiers ever link a record, in this order: national ID,
else insurance number, else phone and date of birth. A record whose date of
birth differs from the citizen's, or whose identifiers conflict with the
citizen's (same kind, different value), stays unmatched: a false link shows
one person's health data to another. Names never decide.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from models.citizen import Citizen, CitizenIdentifier
from models.identifiers import (
    IdentifierKind,
    fold_name,
    normalize_insurance_number_or_none,
    normalize_national_id_or_none,
    normalize_phone_or_none,
)
from models.link import LinkMethod, RecordStore, UnmatchedReason, link_row, upsert_links

NATIONAL_ID_KINDS = (IdentifierKind.CCCD, IdentifierKind.CMND)


@dataclass(frozen=True)
class RecordIdentity:
    """The identifiers a record carries, normalised; None where absent or unreadable."""

    national_id: tuple[IdentifierKind, str] | None
    insurance_number: str | None
    phone: str | None
    date_of_birth: date | None
    # Folded (see fold_name); it never links a record, it only stops a phone match.
    full_name: str | None = None

    @classmethod
    def from_typed(
        cls,
        national_id: str | None,
        insurance_number: str | None,
        phone: str | None,
        date_of_birth: date | None,
        full_name: str | None = None,
    ) -> "RecordIdentity":
        return cls(
            national_id=normalize_national_id_or_none(national_id),
            insurance_number=normalize_insurance_number_or_none(insurance_number),
            phone=normalize_phone_or_none(phone),
            date_of_birth=date_of_birth,
            full_name=fold_name(full_name) if full_name else None,
        )


@dataclass
class CandidateCitizen:
    id: uuid.UUID
    date_of_birth: date | None
    verified: dict[IdentifierKind, set[str]] = field(default_factory=lambda: defaultdict(set))
    full_name: str | None = None  # folded

    def has(self, kind: IdentifierKind, value: str) -> bool:
        return value in self.verified.get(kind, ())

    def conflicts(self, kind: IdentifierKind, value: str | None) -> bool:
        """Both sides hold an identifier of this kind and they differ."""
        held = self.verified.get(kind)
        return bool(value and held and value not in held)


@dataclass(frozen=True)
class MatchOutcome:
    citizen_id: uuid.UUID | None
    method: LinkMethod | None = None
    reason: UnmatchedReason | None = None

    @property
    def linked(self) -> bool:
        return self.citizen_id is not None


def _unmatched(reason: UnmatchedReason) -> MatchOutcome:
    return MatchOutcome(citizen_id=None, reason=reason)


def _birth_conflict(record: RecordIdentity, citizen: CandidateCitizen) -> bool:
    return record.date_of_birth is not None and record.date_of_birth != citizen.date_of_birth


def _national_id_conflict(record: RecordIdentity, citizen: CandidateCitizen) -> bool:
    if record.national_id is None:
        return False
    kind, value = record.national_id
    return citizen.conflicts(kind, value)


def _name_conflict(record: RecordIdentity, citizen: CandidateCitizen) -> bool:
    """A phone and birth date shared within a family (a parent's dose typed with the
    child's phone) must not link: a phone match also needs the same name."""
    return bool(record.full_name and citizen.full_name and record.full_name != citizen.full_name)


def _decide(
    record: RecordIdentity,
    matches: list[CandidateCitizen],
    method: LinkMethod,
    *,
    check_insurance: bool,
) -> MatchOutcome:
    if len(matches) > 1:
        return _unmatched(UnmatchedReason.SEVERAL_CITIZENS)
    citizen = matches[0]
    if _birth_conflict(record, citizen) or _national_id_conflict(record, citizen):
        return _unmatched(UnmatchedReason.CONFLICTING_IDENTIFIERS)
    if check_insurance and citizen.conflicts(IdentifierKind.BHYT, record.insurance_number):
        return _unmatched(UnmatchedReason.CONFLICTING_IDENTIFIERS)
    if method is LinkMethod.PHONE_AND_BIRTH_DATE and _name_conflict(record, citizen):
        return _unmatched(UnmatchedReason.CONFLICTING_IDENTIFIERS)
    return MatchOutcome(citizen_id=citizen.id, method=method)


def decide_match(record: RecordIdentity, candidates: Iterable[CandidateCitizen]) -> MatchOutcome:
    """Apply the matching tiers to the citizens that share any identifier with the record."""
    candidates = list(candidates)
    if record.national_id is not None:
        kind, value = record.national_id
        matches = [c for c in candidates if c.has(kind, value)]
        if matches:
            return _decide(record, matches, LinkMethod.NATIONAL_ID, check_insurance=False)
    if record.insurance_number is not None:
        matches = [c for c in candidates if c.has(IdentifierKind.BHYT, record.insurance_number)]
        if matches:
            return _decide(record, matches, LinkMethod.INSURANCE_NUMBER, check_insurance=False)
    if record.phone is not None and record.date_of_birth is not None:
        matches = [
            c
            for c in candidates
            if c.has(IdentifierKind.PHONE, record.phone) and c.date_of_birth == record.date_of_birth
        ]
        if matches:
            return _decide(record, matches, LinkMethod.PHONE_AND_BIRTH_DATE, check_insurance=True)
    return _unmatched(UnmatchedReason.NO_MATCH)


class CitizenDirectory:
    """Verified identifiers of citizens, indexed for matching many records at once."""

    def __init__(self, citizens: Iterable[CandidateCitizen]) -> None:
        self._by_value: dict[tuple[IdentifierKind, str], list[CandidateCitizen]] = defaultdict(list)
        for citizen in citizens:
            for kind, values in citizen.verified.items():
                for value in values:
                    self._by_value[(kind, value)].append(citizen)

    def candidates(self, record: RecordIdentity) -> list[CandidateCitizen]:
        keys: list[tuple[IdentifierKind, str]] = []
        if record.national_id is not None:
            keys.append(record.national_id)
        if record.insurance_number is not None:
            keys.append((IdentifierKind.BHYT, record.insurance_number))
        if record.phone is not None:
            keys.append((IdentifierKind.PHONE, record.phone))
        seen: dict[uuid.UUID, CandidateCitizen] = {}
        for key in keys:
            for citizen in self._by_value.get(key, ()):
                seen[citizen.id] = citizen
        return list(seen.values())

    def match(self, record: RecordIdentity) -> MatchOutcome:
        return decide_match(record, self.candidates(record))


def _identity_keys(records: Sequence[RecordIdentity]) -> list[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for record in records:
        if record.national_id is not None:
            keys.add((record.national_id[0].value, record.national_id[1]))
        if record.insurance_number is not None:
            keys.add((IdentifierKind.BHYT.value, record.insurance_number))
        if record.phone is not None:
            keys.add((IdentifierKind.PHONE.value, record.phone))
    return sorted(keys)


async def load_directory(
    core: AsyncConnection, records: Sequence[RecordIdentity] | None = None
) -> CitizenDirectory:
    """Load the verified identifiers of every citizen that shares one with the records
    (or of all citizens, when records is None)."""
    identifiers = CitizenIdentifier.__table__
    citizens = Citizen.__table__
    holders = sa.select(identifiers.c.citizen_id).where(identifiers.c.verified)
    parameters: dict[str, list[str]] = {}
    if records is not None:
        keys = _identity_keys(records)
        if not keys:
            return CitizenDirectory([])
        # Two arrays, not a list of tuples: one small statement for any number of records.
        wanted = (
            sa.func.unnest(
                sa.bindparam("kinds", type_=ARRAY(sa.String)),
                sa.bindparam("values", type_=ARRAY(sa.String)),
            )
            .table_valued("kind", "value")
            .render_derived(name="wanted")
        )
        holders = holders.join(
            wanted,
            sa.and_(identifiers.c.kind == wanted.c.kind, identifiers.c.value == wanted.c.value),
        )
        parameters = {"kinds": [k for k, _ in keys], "values": [v for _, v in keys]}
    query = (
        sa.select(
            citizens.c.id,
            citizens.c.date_of_birth,
            citizens.c.full_name,
            identifiers.c.kind,
            identifiers.c.value,
        )
        .join(identifiers, identifiers.c.citizen_id == citizens.c.id)
        .where(identifiers.c.verified, citizens.c.id.in_(holders))
    )
    found: dict[uuid.UUID, CandidateCitizen] = {}
    for citizen_id, birth, name, kind, value in (await core.execute(query, parameters)).all():
        citizen = found.get(citizen_id)
        if citizen is None:
            citizen = found[citizen_id] = CandidateCitizen(
                citizen_id, birth, full_name=fold_name(name)
            )
        citizen.verified[IdentifierKind(kind)].add(value)
    return CitizenDirectory(found.values())


@dataclass(frozen=True)
class RecordToLink:
    record_id: uuid.UUID
    province_code: str
    identity: RecordIdentity
    # When the record happened (dose given, sample taken); see models.link.
    occurred_at: datetime


async def link_records(
    core: AsyncConnection,
    store: RecordStore,
    records: Sequence[RecordToLink],
    directory: CitizenDirectory | None = None,
) -> list[MatchOutcome]:
    """Match records to citizens and store the outcomes in the core store."""
    if not records:
        return []
    if directory is None:
        directory = await load_directory(core, [r.identity for r in records])
    outcomes = [directory.match(r.identity) for r in records]
    rows = [
        link_row(
            store, r.record_id, r.province_code, o.citizen_id, o.method, o.reason, r.occurred_at
        )
        for r, o in zip(records, outcomes, strict=True)
    ]
    await upsert_links(core, rows)
    return outcomes
