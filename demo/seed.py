"""Realistic, deterministic demo data for the three stores, at any scale.

The same number of citizens and the same random seed give the same rows and
the same UUIDs; timestamps keep their shape, anchored to today's midnight UTC.
Citizens are generated up front (the matching directory needs them all);
records, samples and check-ins are generated per chunk of citizens and
bulk-loaded with COPY, so memory grows with citizens, not with check-ins.

Every record is linked through the real matching rules. Some records are
typed so that they must not match (another person's ID, a mistyped ID, a
parent's dose under the child's phone, twins sharing a family phone, people
without an account), and the demo citizen has one record that only a
province operator could link. The demo citizen's province office registers one
more citizen, who has no phone, through the office's own registration.
"""

import asyncio
import itertools
import json
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth import partners
from auth.registration import Office, Registration, office_named, register_citizen
from auth.scopes import Scope
from demo import names
from models import records
from models.checkin import CheckInMethod, ensure_partitions, months_between
from models.citizen import Citizen
from models.identifiers import IdentifierKind, fold_name
from models.link import LinkMethod, LinkStatus, RecordLink, RecordStore
from models.matching import (
    CandidateCitizen,
    CitizenDirectory,
    RecordIdentity,
)
from models.record_validation import (
    Catalog,
    Problem,
    SampleInput,
    VaccinationInput,
    ValidRecord,
    load_catalog,
    validate_sample,
    validate_vaccination,
)
from models.records import Writer, write_records
from models.stores import Engines, Store
from models.testing import Lab, TestOutcome, TestType
from models.venue import KIND_ABBREVIATION, VenueKind

DEMO_PHONE = "0912000001"
DEMO_NAME = "Nguyễn Văn An"
DEMO_BIRTH_DATE = date(1990, 5, 14)
DEMO_CCCD = "024090004512"
DEMO_MISTYPED_CCCD = "024090005412"
DEMO_INSURANCE_NUMBER = "DN4242400123456"
DEMO_RECONCILED_BY = "operator:bac-giang"
# The demo citizen's province office (a partner holding reconcile for Bắc Giang), and a
# citizen it registered from her ID card: she has no phone.
DEMO_OFFICE_NAME = "Sở Y tế Bắc Giang"
WITHOUT_PHONE = Registration(
    full_name="Lê Thị Hoa",
    date_of_birth=date(1948, 3, 2),
    province_code="24",
    district="Lục Ngạn",
    national_id="024148000321",
    insurance_number="HT3242400067890",
)

VACCINATION_SOURCE = "tiemchungcovid19"
TESTING_SOURCE = "xetnghiemcovid"

CHUNK_CITIZENS = 5000
LINK_BATCH = 4000
COPY_TIMEOUT = 3600.0
CHECK_IN_DAYS = 30
SAMPLE_DAYS = 60
VN_OFFSET = timedelta(hours=7)

Row = tuple[Any, ...]
T = TypeVar("T")
Progress = Callable[[str], None]


class AlreadySeeded(RuntimeError):
    """The demo citizen exists already: seeding twice would duplicate everything."""


@dataclass(frozen=True)
class SeedSummary:
    demo_citizen_id: uuid.UUID
    # Registered by the demo province office; counted in citizens.
    without_phone_citizen_id: uuid.UUID
    citizens: int
    vaccination_records: int
    samples: int
    venues: int
    check_ins: int
    unmatched_records: int


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (seed, *parts)))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _cumulative(weighted: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values = [value for value, _ in weighted]
    return values, list(itertools.accumulate(weight for _, weight in weighted))


class _Choice:
    """A weighted choice, with the cumulative weights computed once."""

    def __init__(self, weighted: Sequence[tuple[Any, float]]) -> None:
        self.values, self.cum_weights = _cumulative(weighted)

    def __call__(self, rng: random.Random) -> Any:
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


def _at_local(day: date, seconds: float) -> datetime:
    """The UTC instant of a local (UTC+7) time of day, given in seconds."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + timedelta(seconds=seconds) - VN_OFFSET


def _hours(rng: random.Random, start: float, end: float) -> float:
    return rng.uniform(start * 3600, end * 3600)


# Citizens and their identifiers


@dataclass(slots=True)
class Person:
    id: uuid.UUID
    full_name: str
    family_name: str
    male: bool
    date_of_birth: date
    phone: str
    province: names.Province
    created_at: datetime
    cccd: str | None = None
    cccd_verified: bool = False
    cmnd: str | None = None
    cmnd_verified: bool = False
    insurance_number: str | None = None
    insurance_verified: bool = False
    household_phone: str | None = None
    is_demo: bool = False

    def identifiers(self) -> Iterator[tuple[IdentifierKind, str, bool]]:
        yield IdentifierKind.PHONE, self.phone, True
        if self.household_phone:
            yield IdentifierKind.PHONE, self.household_phone, True
        if self.cccd:
            yield IdentifierKind.CCCD, self.cccd, self.cccd_verified
        if self.cmnd:
            yield IdentifierKind.CMND, self.cmnd, self.cmnd_verified
        if self.insurance_number:
            yield IdentifierKind.BHYT, self.insurance_number, self.insurance_verified

    def candidate(self) -> CandidateCitizen:
        verified: dict[IdentifierKind, set[str]] = defaultdict(set)
        for kind, value, is_verified in self.identifiers():
            if is_verified:
                verified[kind].add(value)
        return CandidateCitizen(
            self.id, self.date_of_birth, verified, full_name=fold_name(self.full_name)
        )

    @property
    def has_verified_cccd(self) -> bool:
        return self.cccd is not None and self.cccd_verified

    @property
    def contact_phone(self) -> str:
        """The phone typed at sites: children's records carry the family phone."""
        return self.household_phone or self.phone


class Registry:
    """Every identifier issued so far, so that values are unique and mistypes miss."""

    def __init__(self) -> None:
        self.phones: set[str] = set()
        self.national_ids: set[str] = set()
        self.insurance_numbers: set[str] = set()
        self._prefix = _Choice(names.MOBILE_PREFIXES)

    def reserve(
        self,
        *,
        phones: Sequence[str] = (),
        national_ids: Sequence[str] = (),
        insurance_numbers: Sequence[str] = (),
    ) -> None:
        self.phones.update(phones)
        self.national_ids.update(national_ids)
        self.insurance_numbers.update(insurance_numbers)

    def _fresh(self, taken: set[str], make: Callable[[], str], *, register: bool) -> str:
        value = make()
        while value in taken:
            value = make()
        if register:
            taken.add(value)
        return value

    def phone(self, rng: random.Random, *, register: bool = True) -> str:
        return self._fresh(
            self.phones, lambda: f"{self._prefix(rng)}{rng.randrange(10**7):07d}", register=register
        )

    def cccd(
        self, rng: random.Random, province: str, birth: date, male: bool, *, register: bool = True
    ) -> str:
        century_and_sex = (0 if birth.year < 2000 else 2) + (0 if male else 1)
        head = f"0{province}{century_and_sex}{birth.year % 100:02d}"
        return self._fresh(
            self.national_ids, lambda: f"{head}{rng.randrange(10**6):06d}", register=register
        )

    def cmnd(self, rng: random.Random, *, register: bool = True) -> str:
        return self._fresh(
            self.national_ids, lambda: f"{rng.randrange(10**8, 4 * 10**8):09d}", register=register
        )

    def insurance_number(
        self, rng: random.Random, province: str, group: tuple[str, str], *, register: bool = True
    ) -> str:
        code, benefit = group
        return self._fresh(
            self.insurance_numbers,
            lambda: f"{code}{benefit}{province}{province}{rng.randrange(10**8):08d}",
            register=register,
        )

    def mistyped(self, rng: random.Random, value: str) -> str:
        """The value with two neighbouring digits swapped or one digit wrong, issued to nobody."""
        while True:
            digits = list(value)
            position = rng.randrange(3, len(digits) - 1)
            if rng.random() < 0.5 and digits[position] != digits[position + 1]:
                digits[position], digits[position + 1] = digits[position + 1], digits[position]
            else:
                digits[position] = str((int(digits[position]) + rng.randint(1, 9)) % 10)
            typo = "".join(digits)
            if typo != value and typo not in self.national_ids:
                return typo


_FAMILY_NAME = _Choice(names.FAMILY_NAMES)
_PROVINCE = _Choice([(province, province.weight) for province in names.PROVINCES])


def _given_name(rng: random.Random, male: bool, birth_year: int) -> str:
    traditional = 0.7 if birth_year < 1985 else 0.35
    if rng.random() < traditional:
        middle = "Văn" if male else "Thị"
    else:
        middle = rng.choice(names.MALE_MIDDLE_NAMES if male else names.FEMALE_MIDDLE_NAMES)
    given = rng.choice(names.MALE_GIVEN_NAMES if male else names.FEMALE_GIVEN_NAMES)
    return f"{middle} {given}"


def _birth_date(rng: random.Random, first_year: int = 1945, last_year: int = 2009) -> date:
    year = int(rng.triangular(first_year, last_year + 0.999, 1988))
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _insurance_group(rng: random.Random, birth: date) -> tuple[str, str]:
    groups: tuple[tuple[str, str], ...]
    if birth.year >= 2003:
        groups = names.INSURANCE_GROUPS_STUDENT
    elif birth.year <= 1961:
        groups = names.INSURANCE_GROUPS_SENIOR
    else:
        groups = names.INSURANCE_GROUPS_ADULT
    return rng.choice(groups)


def _account_created(rng: random.Random, anchor: datetime) -> datetime:
    first = datetime(2020, 4, 18, tzinfo=UTC)
    last = anchor - timedelta(days=CHECK_IN_DAYS + 5)
    return first + (last - first) * rng.random()


def _give_national_ids(rng: random.Random, person: Person, registry: Registry) -> None:
    birth, code = person.date_of_birth, person.province.code
    roll = rng.random()
    if birth.year > 2006:
        roll = 1.0
    if roll < 0.86:
        person.cccd = registry.cccd(rng, code, birth, person.male)
        person.cccd_verified = roll < 0.78
    if birth.year <= 1995 and rng.random() < 0.35:
        person.cmnd = registry.cmnd(rng)
        person.cmnd_verified = person.cccd_verified or rng.random() < 0.3
    elif person.cccd is None and roll < 0.93 and birth.year <= 1985:
        person.cmnd = registry.cmnd(rng)
        person.cmnd_verified = roll < 0.90


def _give_insurance(rng: random.Random, person: Person, registry: Registry) -> None:
    roll = rng.random()
    if roll < 0.88:
        group = _insurance_group(rng, person.date_of_birth)
        person.insurance_number = registry.insurance_number(rng, person.province.code, group)
        person.insurance_verified = roll < 0.82


def _person(
    rng: random.Random, registry: Registry, anchor: datetime, *, birth: date | None = None
) -> Person:
    male = rng.random() < 0.5
    birth = birth or _birth_date(rng)
    family = _FAMILY_NAME(rng)
    person = Person(
        id=_uuid(rng),
        full_name=f"{family} {_given_name(rng, male, birth.year)}",
        family_name=family,
        male=male,
        date_of_birth=birth,
        phone=registry.phone(rng),
        province=_PROVINCE(rng),
        created_at=_account_created(rng, anchor),
    )
    _give_national_ids(rng, person, registry)
    _give_insurance(rng, person, registry)
    return person


def _twins(rng: random.Random, registry: Registry, anchor: datetime) -> list[Person]:
    """Teenage twins registered with the family phone, which both verified."""
    birth = _birth_date(rng, 2005, 2008)
    first = _person(rng, registry, anchor, birth=birth)
    second = _person(rng, registry, anchor, birth=birth)
    second.family_name, second.province = first.family_name, first.province
    second.full_name = f"{first.family_name} {_given_name(rng, second.male, birth.year)}"
    second.household_phone = first.phone
    for twin in (first, second):
        twin.cccd = twin.cmnd = None
        twin.cccd_verified = twin.cmnd_verified = False
    return [first, second]


def _demo_person(rng: random.Random, anchor: datetime) -> Person:
    return Person(
        id=_uuid(rng),
        full_name=DEMO_NAME,
        family_name="Nguyễn",
        male=True,
        date_of_birth=DEMO_BIRTH_DATE,
        phone=DEMO_PHONE,
        province=names.BAC_GIANG,
        created_at=datetime(2020, 4, 20, 1, 30, tzinfo=UTC),
        cccd=DEMO_CCCD,
        cccd_verified=True,
        insurance_number=DEMO_INSURANCE_NUMBER,
        insurance_verified=True,
        is_demo=True,
    )


def _people(seed: int, count: int, anchor: datetime, registry: Registry) -> list[Person]:
    rng = _rng(seed, "people")
    assert WITHOUT_PHONE.national_id and WITHOUT_PHONE.insurance_number
    registry.reserve(
        phones=[DEMO_PHONE],
        national_ids=[DEMO_CCCD, DEMO_MISTYPED_CCCD, WITHOUT_PHONE.national_id],
        insurance_numbers=[WITHOUT_PHONE.insurance_number],
    )
    registry.insurance_numbers.add(DEMO_INSURANCE_NUMBER)
    people = [_demo_person(rng, anchor)]
    twin_pairs = max(1, count // 200) if count >= 3 else 0
    spacing = max(2, (count - 1) // max(twin_pairs, 1))
    while len(people) < count:
        if twin_pairs and len(people) % spacing == 1 and len(people) + 2 <= count:
            people.extend(_twins(rng, registry, anchor))
            twin_pairs -= 1
        else:
            people.append(_person(rng, registry, anchor))
    return people


_VERIFIED_BY = {
    IdentifierKind.PHONE: "otp",
    IdentifierKind.CCCD: "vneid",
    IdentifierKind.CMND: "vneid",
    IdentifierKind.BHYT: "vssid",
}
CITIZEN_COLUMNS = ("id", "full_name", "date_of_birth", "phone", "province_code", "created_at")
IDENTIFIER_COLUMNS = ("id", "citizen_id", "kind", "value", "verified", "verified_by", "verified_at")


def _citizen_row(person: Person) -> Row:
    return (
        person.id,
        person.full_name,
        person.date_of_birth,
        person.phone,
        person.province.code,
        person.created_at,
    )


def _identifier_rows(rng: random.Random, person: Person) -> Iterator[Row]:
    for kind, value, verified in person.identifiers():
        verified_at = person.created_at + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        if kind is IdentifierKind.PHONE:
            verified_at = person.created_at
        yield (
            _uuid(rng),
            person.id,
            kind.value,
            value,
            verified,
            _VERIFIED_BY[kind] if verified else None,
            verified_at if verified else None,
        )


# Venues


@dataclass(frozen=True, slots=True)
class SeedVenue:
    id: uuid.UUID
    code: str
    name: str
    kind: VenueKind
    province_code: str
    address: str
    asks_declaration: bool


_VENUE_KIND = _Choice(
    [
        (VenueKind.OFFICE, 20),
        (VenueKind.RESTAURANT, 20),
        (VenueKind.GROCERY, 18),
        (VenueKind.MARKET, 7),
        (VenueKind.WORKER_BUS, 7),
        (VenueKind.HOTEL, 6),
        (VenueKind.SCHOOL, 8),
        (VenueKind.HOSPITAL, 4),
        (VenueKind.OTHER, 6),
        (VenueKind.LYCHEE_WEIGHING_STATION, 4),
    ]
)
_ASKS_DECLARATION = {
    VenueKind.OFFICE: 0.9,
    VenueKind.HOTEL: 1.0,
    VenueKind.RESTAURANT: 0.3,
    VenueKind.WORKER_BUS: 1.0,
    VenueKind.GROCERY: 0.2,
    VenueKind.MARKET: 0.4,
    VenueKind.LYCHEE_WEIGHING_STATION: 0.7,
    VenueKind.SCHOOL: 0.8,
    VenueKind.HOSPITAL: 1.0,
    VenueKind.OTHER: 0.3,
}
# Local hours during which people check in at each kind of venue.
_OPENING_HOURS = {
    VenueKind.OFFICE: (7.0, 9.5),
    VenueKind.HOTEL: (12.0, 22.0),
    VenueKind.RESTAURANT: (10.5, 21.0),
    VenueKind.WORKER_BUS: (5.5, 7.5),
    VenueKind.GROCERY: (7.0, 21.0),
    VenueKind.MARKET: (5.0, 11.0),
    VenueKind.LYCHEE_WEIGHING_STATION: (4.5, 16.5),
    VenueKind.SCHOOL: (6.5, 7.5),
    VenueKind.HOSPITAL: (7.0, 16.0),
    VenueKind.OTHER: (7.0, 20.0),
}


def _industrial_park(rng: random.Random, province: names.Province, district: str) -> str:
    return rng.choice(names.INDUSTRIAL_PARKS.get(province.code, (f"KCN {district}",)))


def _venue_text(rng: random.Random, kind: VenueKind, province: names.Province) -> tuple[str, str]:
    district = rng.choice(province.districts)
    street = rng.choice(names.STREETS)
    business = rng.choice(names.BUSINESS_NAMES)
    address = f"{rng.randint(1, 299)} {street}, {district}, {province.name}"
    person = rng.choice(names.MALE_GIVEN_NAMES + names.FEMALE_GIVEN_NAMES)
    if kind is VenueKind.OFFICE:
        name = rng.choice(
            (
                f"Công ty TNHH {business}",
                f"Công ty Cổ phần {business}",
                f"UBND phường {street}",
                f"Chi cục Thuế {district}",
            )
        )
    elif kind is VenueKind.HOTEL:
        name = rng.choice((f"Khách sạn {business}", f"Nhà nghỉ {person}"))
    elif kind is VenueKind.RESTAURANT:
        name = rng.choice(
            (
                f"Quán Phở {person}",
                f"Bún chả {person}",
                f"Nhà hàng {business}",
                f"Cơm niêu {business}",
                f"Quán cơm bình dân {person}",
            )
        )
    elif kind is VenueKind.WORKER_BUS:
        park = _industrial_park(rng, province, district)
        plate = f"{province.plate}B-{rng.randrange(100, 1000)}.{rng.randrange(100):02d}"
        name = f"Xe đưa đón công nhân {park} - {plate}"
        address = f"Tuyến {district} - {park}, {province.name}"
    elif kind is VenueKind.GROCERY:
        name = rng.choice((f"Tạp hóa {person}", f"WinMart+ {street}", f"Bách hóa XANH {street}"))
    elif kind is VenueKind.MARKET:
        name = rng.choice((f"Chợ {district.removeprefix('TP. ')}", f"Chợ {street}"))
        address = f"{street}, {district}, {province.name}"
    elif kind is VenueKind.LYCHEE_WEIGHING_STATION:
        district = rng.choice(tuple(names.LYCHEE_COMMUNES))
        commune = rng.choice(names.LYCHEE_COMMUNES[district])
        name = f"Điểm cân vải thiều {commune} số {rng.randint(1, 12)}"
        address = f"Xã {commune}, {district}, {province.name}"
    elif kind is VenueKind.SCHOOL:
        level = rng.choice(("Trường Tiểu học", "Trường THCS", "Trường THPT"))
        name = f"{level} {street}"
    elif kind is VenueKind.HOSPITAL:
        name = rng.choice(
            (
                f"Bệnh viện Đa khoa {district}",
                f"Trung tâm Y tế {district}",
                f"Phòng khám Đa khoa {business}",
            )
        )
    else:
        name = rng.choice(
            (
                f"Bến xe {district.removeprefix('TP. ')}",
                f"Nhà văn hóa tổ dân phố số {rng.randint(1, 20)}",
                f"Bưu điện {district}",
                f"Sân vận động {district}",
            )
        )
    return name, address


def _venue_code(kind: VenueKind, province_code: str, number: int) -> str:
    return f"{province_code}-{KIND_ABBREVIATION[kind]}-{number:06d}"


def _new_venue(
    rng: random.Random, number: int, kind: VenueKind, province: names.Province
) -> SeedVenue:
    name, address = _venue_text(rng, kind, province)
    return SeedVenue(
        id=_uuid(rng),
        code=_venue_code(kind, province.code, number),
        name=name,
        kind=kind,
        province_code=province.code,
        address=address,
        asks_declaration=rng.random() < _ASKS_DECLARATION[kind],
    )


_DEMO_VENUES = (
    (
        VenueKind.OFFICE,
        "Công ty TNHH Linh kiện Điện tử Sao Mai",
        "Lô C2, KCN Quang Châu, Việt Yên, Bắc Giang",
    ),
    (
        VenueKind.WORKER_BUS,
        "Xe đưa đón công nhân KCN Quang Châu - 98B-026.14",
        "Tuyến Lục Ngạn - KCN Quang Châu, Bắc Giang",
    ),
    (VenueKind.RESTAURANT, "Quán Phở Hùng", "12 Nguyễn Văn Cừ, Việt Yên, Bắc Giang"),
    (VenueKind.MARKET, "Chợ Chũ", "Thị trấn Chũ, Lục Ngạn, Bắc Giang"),
    (
        VenueKind.LYCHEE_WEIGHING_STATION,
        "Điểm cân vải thiều Phượng Sơn số 3",
        "Xã Phượng Sơn, Lục Ngạn, Bắc Giang",
    ),
    (VenueKind.GROCERY, "WinMart+ Xương Giang", "85 Xương Giang, TP. Bắc Giang, Bắc Giang"),
)


def _venues(seed: int, citizens: int) -> list[SeedVenue]:
    """The demo citizen's venues first, then one of every kind, then a mix by weight."""
    rng = _rng(seed, "venues")
    venues = [
        SeedVenue(
            id=_uuid(rng),
            code=_venue_code(kind, "24", number),
            name=name,
            kind=kind,
            province_code="24",
            address=address,
            asks_declaration=True,
        )
        for number, (kind, name, address) in enumerate(_DEMO_VENUES, 1)
    ]
    kinds = [kind for kind in VenueKind if kind not in {v.kind for v in venues}]
    while len(venues) < max(40, citizens // 25):
        kind = kinds.pop(0) if kinds else _VENUE_KIND(rng)
        province = names.BAC_GIANG if kind is VenueKind.LYCHEE_WEIGHING_STATION else _PROVINCE(rng)
        venues.append(_new_venue(rng, len(venues) + 1, kind, province))
    return venues


class VenueIndex:
    """Venues by province and kind, for picking where a person goes."""

    def __init__(self, venues: Sequence[SeedVenue]) -> None:
        self.by_kind: dict[VenueKind, list[SeedVenue]] = defaultdict(list)
        self.by_place: dict[tuple[str, VenueKind], list[SeedVenue]] = defaultdict(list)
        for venue in venues:
            self.by_kind[venue.kind].append(venue)
            self.by_place[(venue.province_code, venue.kind)].append(venue)

    def near(self, rng: random.Random, province_code: str, kind: VenueKind) -> SeedVenue:
        return rng.choice(self.by_place.get((province_code, kind)) or self.by_kind[kind])

    def anywhere(self, rng: random.Random, kind: VenueKind) -> SeedVenue:
        return rng.choice(self.by_kind[kind])


VENUE_COLUMNS = ("id", "code", "name", "kind", "province_code", "address", "created_at")


def _venue_row(venue: SeedVenue, created_at: datetime) -> Row:
    return (
        venue.id,
        venue.code,
        venue.name,
        venue.kind.value,
        venue.province_code,
        venue.address,
        created_at,
    )


# The world every generator draws from


@dataclass
class World:
    seed: int
    anchor: datetime
    people: list[Person]
    registry: Registry
    venues: list[SeedVenue]
    places: VenueIndex
    directory: CitizenDirectory

    @property
    def demo(self) -> Person:
        return self.people[0]

    def demo_venue(self, kind: VenueKind) -> SeedVenue:
        return next(venue for venue in self.venues[: len(_DEMO_VENUES)] if venue.kind is kind)


def _today_midnight_utc() -> datetime:
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def build_world(seed: int, citizens: int, anchor: datetime) -> World:
    registry = Registry()
    people = _people(seed, citizens, anchor, registry)
    venues = _venues(seed, citizens)
    return World(
        seed=seed,
        anchor=anchor,
        people=people,
        registry=registry,
        venues=venues,
        places=VenueIndex(venues),
        directory=CitizenDirectory(person.candidate() for person in people),
    )


# Identifiers as typed at sites


@dataclass(frozen=True, slots=True)
class Typed:
    full_name: str
    national_id: str | None
    insurance_number: str | None
    phone: str | None
    date_of_birth: date | None


def _name_as_typed(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.08:
        return name.upper()
    if roll < 0.14:
        return names.without_diacritics(name)
    return name


def _pre_2018_form(phone: str) -> str | None:
    old_prefix = names.PRE_2018_PREFIX.get(phone[:3])
    return old_prefix + phone[3:] if old_prefix else None


def _phone_as_typed(rng: random.Random, phone: str) -> str:
    """Mostly as given; sometimes international, spaced, or the number from before 2018."""
    roll = rng.random()
    if roll < 0.06:
        return "+84" + phone[1:]
    if roll < 0.09:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if roll < 0.12:
        return _pre_2018_form(phone) or phone
    return phone


def _national_id_on_card(rng: random.Random, person: Person) -> str | None:
    if person.cccd and (person.cmnd is None or rng.random() < 0.75):
        return person.cccd
    return person.cmnd


def _typed_full(rng: random.Random, person: Person, world: World) -> Typed:
    insurance = person.insurance_number if rng.random() < 0.8 else None
    return Typed(
        _name_as_typed(rng, person.full_name),
        _national_id_on_card(rng, person),
        insurance,
        _phone_as_typed(rng, person.contact_phone),
        person.date_of_birth,
    )


def _typed_insurance_and_phone(rng: random.Random, person: Person, world: World) -> Typed:
    return Typed(
        _name_as_typed(rng, person.full_name),
        None,
        person.insurance_number,
        _phone_as_typed(rng, person.contact_phone),
        person.date_of_birth,
    )


def _typed_national_id_only(rng: random.Random, person: Person, world: World) -> Typed:
    national_id = _national_id_on_card(rng, person)
    if national_id is None:
        return _typed_full(rng, person, world)
    return Typed(
        _name_as_typed(rng, person.full_name), national_id, None, None, person.date_of_birth
    )


def _typed_phone_and_birth(rng: random.Random, person: Person, world: World) -> Typed:
    return Typed(
        _name_as_typed(rng, person.full_name),
        None,
        None,
        _phone_as_typed(rng, person.contact_phone),
        person.date_of_birth,
    )


def _typed_old_phone(rng: random.Random, person: Person, world: World) -> Typed:
    """Pre-filled from an older register that still holds the pre-2018 11-digit number."""
    old = _pre_2018_form(person.contact_phone)
    if old is None:
        return _typed_phone_and_birth(rng, person, world)
    return Typed(_name_as_typed(rng, person.full_name), None, None, old, person.date_of_birth)


def _typed_someone_elses_id(rng: random.Random, person: Person, world: World) -> Typed:
    """A mistyped ID that happens to be another real citizen's."""
    for _ in range(20):
        other = rng.choice(world.people)
        if (
            other.has_verified_cccd
            and not other.is_demo
            and other.date_of_birth != person.date_of_birth
        ):
            return Typed(
                _name_as_typed(rng, person.full_name),
                other.cccd,
                None,
                person.contact_phone,
                person.date_of_birth,
            )
    return _typed_mistyped_id(rng, person, world)


def _typed_mistyped_id(rng: random.Random, person: Person, world: World) -> Typed:
    own = _national_id_on_card(rng, person) or world.registry.cccd(
        rng, person.province.code, person.date_of_birth, person.male, register=False
    )
    phone = person.contact_phone if rng.random() < 0.5 else None
    return Typed(
        _name_as_typed(rng, person.full_name),
        world.registry.mistyped(rng, own),
        None,
        phone,
        person.date_of_birth,
    )


def _typed_conflicting(rng: random.Random, person: Person, world: World) -> Typed:
    """The person's insurance number next to a national ID that is not theirs."""
    own = person.cccd or world.registry.cccd(
        rng, person.province.code, person.date_of_birth, person.male, register=False
    )
    return Typed(
        _name_as_typed(rng, person.full_name),
        world.registry.mistyped(rng, own),
        person.insurance_number,
        person.contact_phone,
        person.date_of_birth,
    )


TypedVariant = Callable[[random.Random, Person, World], Typed]
_USUAL_TYPING: _Choice = _Choice(
    [
        (_typed_full, 52),
        (_typed_insurance_and_phone, 12),
        (_typed_national_id_only, 10),
        (_typed_phone_and_birth, 12),
        (_typed_old_phone, 8),
    ]
)
_MISTYPING: _Choice = _Choice(
    [(_typed_someone_elses_id, 3), (_typed_mistyped_id, 3), (_typed_conflicting, 2)]
)


def _typed_own(rng: random.Random, person: Person, world: World, mistype_share: float) -> Typed:
    variant: TypedVariant = _MISTYPING(rng) if rng.random() < mistype_share else _USUAL_TYPING(rng)
    return variant(rng, person, world)


def _random_name(rng: random.Random, male: bool, birth_year: int, family: str = "") -> str:
    return f"{family or _FAMILY_NAME(rng)} {_given_name(rng, male, birth_year)}"


def _typed_parent(rng: random.Random, person: Person, world: World) -> Typed:
    """A parent's dose, typed with the child's phone and the parent's own birth date."""
    father = rng.random() < 0.5
    birth = person.date_of_birth - timedelta(days=rng.randint(22 * 365, 38 * 365))
    family = person.family_name if father else ""
    national_id = world.registry.cmnd(rng, register=False) if rng.random() < 0.3 else None
    return Typed(
        _random_name(rng, father, birth.year, family),
        national_id,
        None,
        _phone_as_typed(rng, person.contact_phone),
        birth,
    )


def _typed_nobody(rng: random.Random, world: World) -> Typed:
    """Someone without an account: identifiers that belong to no citizen."""
    male = rng.random() < 0.5
    birth = _birth_date(rng)
    province = _PROVINCE(rng)
    registry = world.registry
    phone = registry.phone(rng, register=False) if rng.random() < 0.8 else None
    national_id = None
    if phone is None or rng.random() < 0.7:
        national_id = registry.cccd(rng, province.code, birth, male, register=False)
    insurance_number = None
    if rng.random() < 0.4:
        group = _insurance_group(rng, birth)
        insurance_number = registry.insurance_number(rng, province.code, group, register=False)
    name = _random_name(rng, male, birth.year)
    return Typed(name, national_id, insurance_number, phone, birth)


def _record_province(rng: random.Random, person: Person) -> str:
    """Mostly at home; some people were vaccinated or tested where they work."""
    return person.province.code if rng.random() < 0.92 else _PROVINCE(rng).code


# Batches of records to load and link


@dataclass(frozen=True, slots=True)
class Generated:
    """A record as a partner would send it, with the ID the generator gives it (stable
    across runs of the same seed)."""

    id: uuid.UUID
    input: VaccinationInput | SampleInput


@dataclass
class Batch:
    records: list[Generated] = field(default_factory=list)

    def add(self, record: Generated) -> None:
        self.records.append(record)

    def extend(self, other: "Batch") -> None:
        self.records.extend(other.records)


# Vaccinations

AZ, PFIZER, MODERNA, SINOPHARM, SPUTNIK, JANSSEN, ABDALA = (
    "AZD1222",
    "BNT162b2",
    "mRNA-1273",
    "BBIBP-CorV",
    "Gam-COVID-Vac",
    "Ad26.COV2.S",
    "CIGB-66",
)
_PRIMARY_SERIES = _Choice(
    [
        ((AZ, AZ), 30),
        ((AZ, PFIZER), 8),
        ((AZ, MODERNA), 3),
        ((PFIZER, PFIZER), 18),
        ((MODERNA, MODERNA), 8),
        ((SINOPHARM, SINOPHARM), 25),
        ((SPUTNIK, SPUTNIK), 2),
        ((JANSSEN,), 2),
        ((ABDALA, ABDALA, ABDALA), 3),
    ]
)
_BOOSTER = _Choice([(PFIZER, 50), (MODERNA, 30), (AZ, 20)])
_DOSES_WANTED = _Choice([(0, 8), (1, 10), (2, 42), (3, 32), (4, 8)])
# Days to the next dose of a primary series, after a dose of this vaccine.
_PRIMARY_INTERVAL = {
    AZ: (56, 84),
    PFIZER: (21, 28),
    MODERNA: (28, 35),
    SINOPHARM: (21, 28),
    SPUTNIK: (21, 21),
    ABDALA: (14, 14),
    JANSSEN: (0, 0),
}
FIRST_DOSES_FROM = date(2021, 3, 8)
TEENS_FIRST_DOSES_FROM = date(2021, 10, 25)
# Abdala reached Vietnam in September 2021 (authorised in Cuba that July).
ABDALA_FIRST_DOSES_FROM = date(2021, 9, 20)
LAST_DOSE_DAY = date(2022, 12, 31)


def _dose_plan(rng: random.Random, person: Person) -> list[tuple[str, date]]:
    wanted = _DOSES_WANTED(rng)
    if wanted == 0:
        return []
    if person.date_of_birth.year >= 2004:
        series: tuple[str, ...] = (PFIZER, PFIZER)
        day = TEENS_FIRST_DOSES_FROM + timedelta(days=int(rng.triangular(0, 100, 20)))
    else:
        series = _PRIMARY_SERIES(rng)
        day = FIRST_DOSES_FROM + timedelta(days=int(rng.triangular(0, 298, 150)))
        if series[0] == ABDALA:
            day = max(day, ABDALA_FIRST_DOSES_FROM)
    vaccines = list(series[:wanted])
    vaccines += [_BOOSTER(rng) for _ in range(min(wanted - len(series), 2))]
    plan: list[tuple[str, date]] = []
    for number, vaccine in enumerate(vaccines):
        if number:
            day += timedelta(days=_days_to_next_dose(rng, vaccines[number - 1], number, series))
        if day > LAST_DOSE_DAY:
            break
        plan.append((vaccine, day))
    return plan


def _days_to_next_dose(
    rng: random.Random, previous: str, number: int, series: tuple[str, ...]
) -> int:
    if number < len(series):
        return rng.randint(*_PRIMARY_INTERVAL[previous])
    if number == len(series):
        return rng.randint(150, 240)
    return rng.randint(120, 200)


def _lot_number(rng: random.Random, vaccine: str, dose_number: int) -> str:
    if vaccine == AZ:
        return f"{rng.choice(('ABV', 'ABW', 'NX', 'PV'))}{rng.randrange(1000, 10000)}"
    if vaccine == PFIZER:
        return f"{rng.choice(('FF', 'FG', 'FK', 'FL'))}{rng.randrange(1000, 10000)}"
    if vaccine == MODERNA:
        return str(rng.randrange(3000000, 3010000))
    if vaccine == SINOPHARM:
        return f"2021{rng.randint(3, 12):02d}B{rng.randrange(1000, 10000)}"
    if vaccine == SPUTNIK:
        return f"{'I' if dose_number == 1 else 'II'}-{rng.randrange(100000, 1000000)}"
    if vaccine == JANSSEN:
        return f"XD{rng.randrange(100, 1000)}"
    return f"A{rng.randrange(1000, 10000)}"


def _vaccination_site(rng: random.Random, province_code: str) -> str:
    province = names.PROVINCE_BY_CODE[province_code]
    district = rng.choice(province.districts)
    roll = rng.random()
    if roll < 0.5:
        return f"Trạm Y tế phường {rng.choice(names.STREETS)}, {district}"
    if roll < 0.75:
        return f"Trung tâm Y tế {district}"
    if roll < 0.9:
        return f"Bệnh viện Đa khoa {district}"
    return f"Điểm tiêm lưu động {_industrial_park(rng, province, district)}"


@dataclass
class _Sequence:
    label: str
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str, province_code: str) -> str:
        return f"{prefix}-{province_code}-{self.label}-{next(self.counter):06d}"


def _vaccination(
    rng: random.Random,
    ids: _Sequence,
    typed: Typed,
    dose: tuple[str, int, datetime],
    site: str,
    province_code: str,
    *,
    entered_in_error: bool = False,
) -> Generated:
    vaccine, number, administered_at = dose
    record_id = _uuid(rng)
    source_record_id = ids.next_id("TC", province_code)
    lot_number = _lot_number(rng, vaccine, number)
    # When the site's platform last changed the record.
    updated_at = administered_at + timedelta(minutes=rng.randint(5, 3 * 24 * 60))
    return Generated(
        record_id,
        VaccinationInput(
            source_record_id=source_record_id,
            updated_at=updated_at,
            full_name=typed.full_name,
            vaccine_code=vaccine,
            dose_number=number,
            administered_at=administered_at,
            site_name=site,
            province_code=province_code,
            date_of_birth=typed.date_of_birth,
            national_id=typed.national_id,
            insurance_number=typed.insurance_number,
            phone=typed.phone,
            lot_number=lot_number,
            entered_in_error=entered_in_error,
        ),
    )


def _vaccination_time(rng: random.Random, day: date) -> datetime:
    return _at_local(day, _hours(rng, 7.5, 16.5))


VACCINATION_MISTYPE_SHARE = 0.05
PARENT_RECORD_SHARE = 0.03
NOBODY_RECORD_SHARE = 0.03
ENTERED_IN_ERROR_SHARE = 0.015


def _person_vaccinations(rng: random.Random, person: Person, world: World, ids: _Sequence) -> Batch:
    batch = Batch()
    province = _record_province(rng, person)
    for number, (vaccine, day) in enumerate(_dose_plan(rng, person), 1):
        typed = _typed_own(rng, person, world, VACCINATION_MISTYPE_SHARE)
        dose = (vaccine, number, _vaccination_time(rng, day))
        site = _vaccination_site(rng, province)
        batch.add(_vaccination(rng, ids, typed, dose, site, province))
        if rng.random() < ENTERED_IN_ERROR_SHARE:
            batch.add(_vaccination(rng, ids, typed, dose, site, province, entered_in_error=True))
    return batch


def _other_vaccination(rng: random.Random, typed: Typed, ids: _Sequence, province: str) -> Batch:
    batch = Batch()
    vaccine = rng.choice((AZ, SINOPHARM, PFIZER))
    day = FIRST_DOSES_FROM + timedelta(days=int(rng.triangular(0, 400, 150)))
    dose = (vaccine, rng.randint(1, 2), _vaccination_time(rng, day))
    site = _vaccination_site(rng, province)
    batch.add(_vaccination(rng, ids, typed, dose, site, province))
    return batch


def _vaccination_chunk(
    rng: random.Random, label: str, people: Sequence[Person], world: World
) -> Batch:
    ids = _Sequence(label)
    batch = Batch()
    for person in people:
        if person.is_demo:
            continue
        batch.extend(_person_vaccinations(rng, person, world, ids))
        if rng.random() < PARENT_RECORD_SHARE:
            typed = _typed_parent(rng, person, world)
            batch.extend(_other_vaccination(rng, typed, ids, person.province.code))
        if rng.random() < NOBODY_RECORD_SHARE:
            typed = _typed_nobody(rng, world)
            batch.extend(_other_vaccination(rng, typed, ids, _PROVINCE(rng).code))
    return batch


@dataclass(frozen=True)
class DemoVaccinations:
    batch: Batch
    reconciled_record_id: uuid.UUID


def _demo_vaccinations(rng: random.Random, world: World) -> DemoVaccinations:
    """AstraZeneca then Pfizer, a Moderna booster, and a second booster typed wrong."""
    demo, ids, batch = world.demo, _Sequence("DEMO"), Batch()
    name = demo.full_name
    doses = (
        (
            Typed(name, DEMO_CCCD, DEMO_INSURANCE_NUMBER, DEMO_PHONE, DEMO_BIRTH_DATE),
            (AZ, 1, _at_local(date(2021, 6, 12), 9.25 * 3600)),
            "Điểm tiêm lưu động KCN Quang Châu",
        ),
        (
            Typed(name, None, DEMO_INSURANCE_NUMBER, "0912 000 001", DEMO_BIRTH_DATE),
            (PFIZER, 2, _at_local(date(2021, 9, 4), 14.5 * 3600)),
            "Trung tâm Y tế Việt Yên",
        ),
        (
            Typed("NGUYEN VAN AN", None, None, "+84912000001", DEMO_BIRTH_DATE),
            (MODERNA, 3, _at_local(date(2022, 1, 15), 8.75 * 3600)),
            "Trạm Y tế phường Trần Phú, TP. Bắc Giang",
        ),
        (
            Typed(name, DEMO_MISTYPED_CCCD, None, DEMO_PHONE, DEMO_BIRTH_DATE),
            (PFIZER, 4, _at_local(date(2022, 7, 9), 10.0 * 3600)),
            "Điểm tiêm lưu động xã Phượng Sơn, Lục Ngạn",
        ),
    )
    for typed, dose, site in doses:
        batch.add(_vaccination(rng, ids, typed, dose, site, "24"))
    return DemoVaccinations(batch, reconciled_record_id=batch.records[-1].id)


# Samples

POOL_ROUNDS = 3
POOL_SHARE = 0.45
POOL_SIZES = (5, 10)
TESTING_MISTYPE_SHARE = 0.015
_SINGLE_PCR_COUNT = _Choice([(0, 55), (1, 32), (2, 10), (3, 3)])
_RAPID_COUNT = _Choice([(0, 35), (1, 35), (2, 20), (3, 7), (4, 3)])
_PCR_OUTCOME = _Choice(
    [(TestOutcome.NEGATIVE, 955), (TestOutcome.POSITIVE, 25), (TestOutcome.INCONCLUSIVE, 20)]
)
_RAPID_OUTCOME = _Choice(
    [(TestOutcome.NEGATIVE, 960), (TestOutcome.POSITIVE, 30), (TestOutcome.INCONCLUSIVE, 10)]
)


def _labs() -> list[dict[str, str]]:
    national = [
        {"code": code, "name": name, "province_code": province}
        for code, name, province in names.NATIONAL_LABS
    ]
    provincial = [
        {
            "code": names.province_lab_code(province),
            "name": names.province_lab_name(province),
            "province_code": province.code,
        }
        for province in names.PROVINCES
    ]
    return national + provincial


_NATIONAL_LAB_IN = {province: code for code, _, province in names.NATIONAL_LABS}


def _lab_for(rng: random.Random, province_code: str) -> str:
    national = _NATIONAL_LAB_IN.get(province_code)
    if national and rng.random() < 0.4:
        return national
    return names.province_lab_code(names.PROVINCE_BY_CODE[province_code])


def _collection_site(rng: random.Random, province_code: str) -> str:
    province = names.PROVINCE_BY_CODE[province_code]
    district = rng.choice(province.districts)
    roll = rng.random()
    if roll < 0.35:
        return f"Điểm lấy mẫu {_industrial_park(rng, province, district)}"
    if roll < 0.65:
        return f"Nhà văn hóa tổ dân phố số {rng.randint(1, 20)}, {district}"
    if roll < 0.85:
        return f"Trạm Y tế phường {rng.choice(names.STREETS)}, {district}"
    return f"Trung tâm Y tế {district}"


def _collected_at(rng: random.Random, anchor: datetime) -> datetime:
    day = (anchor - timedelta(days=rng.randint(1, SAMPLE_DAYS))).date()
    return _at_local(day, _hours(rng, 7.0, 17.0))


def _pcr_result(
    rng: random.Random, collected_at: datetime, anchor: datetime
) -> tuple[TestOutcome, datetime | None]:
    resulted_at = collected_at + timedelta(minutes=rng.randint(6 * 60, 30 * 60))
    if resulted_at > anchor:
        return TestOutcome.PENDING, None
    return _PCR_OUTCOME(rng), resulted_at


def _rapid_result(
    rng: random.Random, collected_at: datetime, anchor: datetime
) -> tuple[TestOutcome, datetime | None]:
    if anchor - collected_at < timedelta(days=3) and rng.random() < 0.3:
        return TestOutcome.PENDING, None
    return _RAPID_OUTCOME(rng), collected_at + timedelta(minutes=rng.randint(15, 40))


@dataclass(frozen=True)
class SampleEvent:
    test_type: TestType
    collected_at: datetime
    site: str
    lab_code: str | None
    result: TestOutcome
    resulted_at: datetime | None
    province_code: str
    pool_code: str | None = None


def _sample(
    rng: random.Random, ids: _Sequence, event: SampleEvent, typed: Typed, sample_code: str
) -> Generated:
    record_id = _uuid(rng)
    # When the testing platform last changed the record.
    updated_at = event.collected_at + timedelta(minutes=rng.randint(1, 90))
    return Generated(
        record_id,
        SampleInput(
            source_record_id=ids.next_id("XN", event.province_code),
            updated_at=updated_at,
            full_name=typed.full_name,
            sample_code=sample_code,
            test_type=event.test_type.value,
            collected_at=event.collected_at,
            collection_site=event.site,
            province_code=event.province_code,
            result=event.result.value,
            resulted_at=event.resulted_at,
            lab_code=event.lab_code,
            pool_code=event.pool_code,
            date_of_birth=typed.date_of_birth,
            national_id=typed.national_id,
            insurance_number=typed.insurance_number,
            phone=typed.phone,
        ),
    )


def _single_event(
    rng: random.Random, test_type: TestType, province_code: str, anchor: datetime
) -> SampleEvent:
    collected_at = _collected_at(rng, anchor)
    if test_type is TestType.RT_PCR:
        result, resulted_at = _pcr_result(rng, collected_at, anchor)
        lab: str | None = _lab_for(rng, province_code)
    else:
        result, resulted_at = _rapid_result(rng, collected_at, anchor)
        lab = None
    site = _collection_site(rng, province_code)
    return SampleEvent(test_type, collected_at, site, lab, result, resulted_at, province_code)


def _add_single(
    rng: random.Random, batch: Batch, ids: _Sequence, event: SampleEvent, typed: Typed
) -> None:
    code = f"S{event.province_code}{event.collected_at:%y%m%d}-{ids.label}-{len(batch.records):06d}"
    batch.add(_sample(rng, ids, event, typed, code))


def _pool_event(
    rng: random.Random, province_code: str, label: str, number: int, anchor: datetime
) -> SampleEvent:
    collected_at = _collected_at(rng, anchor)
    result, resulted_at = _pcr_result(rng, collected_at, anchor)
    return SampleEvent(
        TestType.RT_PCR,
        collected_at,
        _collection_site(rng, province_code),
        _lab_for(rng, province_code),
        result,
        resulted_at,
        province_code,
        pool_code=f"P{province_code}-{collected_at:%y%m%d}-{label}-{number:05d}",
    )


def _add_pool(
    rng: random.Random, batch: Batch, ids: _Sequence, event: SampleEvent, typed: Sequence[Typed]
) -> None:
    for member, member_typed in enumerate(typed, 1):
        batch.add(_sample(rng, ids, event, member_typed, f"{event.pool_code}-{member:02d}"))


def _split_into_pools(
    rng: random.Random, people: list[Person]
) -> tuple[list[list[Person]], list[Person]]:
    low, high = POOL_SIZES
    pools: list[list[Person]] = []
    while len(people) >= low:
        size = min(rng.randint(low, high), len(people))
        if len(people) - size < low and len(people) <= high:
            size = len(people)
        pools.append(people[:size])
        people = people[size:]
    return pools, people


def _pools(
    rng: random.Random, participants: Sequence[Person]
) -> tuple[list[list[Person]], list[Person]]:
    """People of one province share a tube; leftovers are pooled together or tested alone."""
    by_province: dict[str, list[Person]] = defaultdict(list)
    for person in participants:
        by_province[person.province.code].append(person)
    pools: list[list[Person]] = []
    leftovers: list[Person] = []
    for members in by_province.values():
        rng.shuffle(members)
        province_pools, rest = _split_into_pools(rng, members)
        pools += province_pools
        leftovers += rest
    mixed_pools, alone = _split_into_pools(rng, leftovers)
    return pools + mixed_pools, alone


def _pooled_samples(
    rng: random.Random, people: Sequence[Person], world: World, ids: _Sequence
) -> Batch:
    batch = Batch()
    number = itertools.count(1)
    for _ in range(POOL_ROUNDS):
        participants = [person for person in people if rng.random() < POOL_SHARE]
        pools, alone = _pools(rng, participants)
        for pool in pools:
            event = _pool_event(rng, pool[0].province.code, ids.label, next(number), world.anchor)
            typed = [_typed_own(rng, p, world, TESTING_MISTYPE_SHARE) for p in pool]
            _add_pool(rng, batch, ids, event, typed)
        for person in alone:
            event = _single_event(rng, TestType.RT_PCR, person.province.code, world.anchor)
            _add_single(
                rng, batch, ids, event, _typed_own(rng, person, world, TESTING_MISTYPE_SHARE)
            )
    return batch


def _single_samples(rng: random.Random, person: Person, world: World, ids: _Sequence) -> Batch:
    batch = Batch()
    tests = [TestType.RT_PCR] * _SINGLE_PCR_COUNT(rng) + [TestType.RAPID_ANTIGEN] * _RAPID_COUNT(
        rng
    )
    for test_type in tests:
        event = _single_event(rng, test_type, _record_province(rng, person), world.anchor)
        _add_single(rng, batch, ids, event, _typed_own(rng, person, world, TESTING_MISTYPE_SHARE))
    if rng.random() < NOBODY_RECORD_SHARE:
        test_type = rng.choice((TestType.RT_PCR, TestType.RAPID_ANTIGEN))
        event = _single_event(rng, test_type, _PROVINCE(rng).code, world.anchor)
        _add_single(rng, batch, ids, event, _typed_nobody(rng, world))
    return batch


def _testing_chunk(rng: random.Random, label: str, people: Sequence[Person], world: World) -> Batch:
    ids = _Sequence(label)
    members = [person for person in people if not person.is_demo]
    batch = _pooled_samples(rng, members, world, ids)
    for person in members:
        batch.extend(_single_samples(rng, person, world, ids))
    return batch


def _demo_samples(rng: random.Random, world: World) -> Batch:
    """A negative pooled RT-PCR with co-workers, and this morning's rapid test, pending."""
    demo, ids, batch, anchor = world.demo, _Sequence("DEMO"), Batch(), world.anchor
    typed = Typed(demo.full_name, DEMO_CCCD, None, DEMO_PHONE, DEMO_BIRTH_DATE)
    co_workers = [p for p in world.people[1:] if p.province.code == "24"][:4]
    pool = [typed] + [_typed_own(rng, p, world, 0.0) for p in co_workers]
    pool += [_typed_nobody(rng, world) for _ in range(8 - len(pool))]
    collected_at = _at_local((anchor - timedelta(days=9)).date(), 8.5 * 3600)
    pooled = SampleEvent(
        TestType.RT_PCR,
        collected_at,
        "Điểm lấy mẫu KCN Quang Châu",
        "CDC24",
        TestOutcome.NEGATIVE,
        collected_at + timedelta(hours=20),
        "24",
        pool_code=f"P24-{collected_at:%y%m%d}-DEMO-00001",
    )
    _add_pool(rng, batch, ids, pooled, pool)
    rapid = SampleEvent(
        TestType.RAPID_ANTIGEN,
        anchor - timedelta(minutes=25),
        "Phòng y tế Công ty TNHH Linh kiện Điện tử Sao Mai",
        None,
        TestOutcome.PENDING,
        None,
        "24",
    )
    _add_single(rng, batch, ids, rapid, typed)
    return batch


# Check-ins

CHECK_IN_COLUMNS = (
    "id",
    "checked_in_at",
    "citizen_id",
    "venue_id",
    "method",
    "declaration",
    "created_at",
)
_CHECK_INS_WANTED_MEAN = 22.5
_CHECK_INS_MAX = 90


def _declaration(**answers: object) -> str:
    base: dict[str, object] = {
        "fever": False,
        "cough": False,
        "contactWithCase": False,
        "travelledFrom": None,
    }
    return json.dumps(base | answers, ensure_ascii=False)


_USUAL_DECLARATION = _declaration()
_UNUSUAL_DECLARATION = _Choice(
    [
        *((_declaration(travelledFrom=province.name), 3) for province in names.PROVINCES),
        (_declaration(cough=True), 10),
        (_declaration(fever=True), 3),
        (_declaration(contactWithCase=True), 2),
    ]
)


def _declaration_answer(rng: random.Random) -> str:
    return _USUAL_DECLARATION if rng.random() < 0.95 else _UNUSUAL_DECLARATION(rng)


def _check_in_counts(seed: int, people: Sequence[Person]) -> list[int]:
    rng = _rng(seed, "check-in-counts")
    counts = []
    for person in people:
        wanted = int(rng.expovariate(1 / _CHECK_INS_WANTED_MEAN))
        counts.append(0 if person.is_demo or rng.random() < 0.08 else min(wanted, _CHECK_INS_MAX))
    return counts


@dataclass(frozen=True)
class Routine:
    venues: list[SeedVenue]
    cum_weights: list[float]
    staff_scan_share: float


def _routine(rng: random.Random, person: Person, places: VenueIndex) -> Routine:
    """The handful of places a person goes to, and how often."""
    home = person.province.code
    visits: list[tuple[SeedVenue, float]] = []
    if person.date_of_birth.year >= 2004:
        visits.append((places.near(rng, home, VenueKind.SCHOOL), 6))
    else:
        work = rng.random()
        if work < 0.75:
            visits.append((places.near(rng, home, VenueKind.OFFICE), 6))
        if 0.5 <= work < 0.75:
            visits.append((places.near(rng, home, VenueKind.WORKER_BUS), 5))
        if work >= 0.75:
            visits.append((places.near(rng, home, VenueKind.MARKET), 4))
    if home == names.BAC_GIANG.code and rng.random() < 0.4:
        visits += [(places.near(rng, home, VenueKind.LYCHEE_WEIGHING_STATION), 2.5)] * 2
    visits += [(places.near(rng, home, VenueKind.MARKET), 2) for _ in range(rng.randint(1, 2))]
    visits += [(places.near(rng, home, VenueKind.GROCERY), 2) for _ in range(rng.randint(1, 3))]
    visits += [
        (places.near(rng, home, VenueKind.RESTAURANT), 1.5) for _ in range(rng.randint(2, 4))
    ]
    visits.append((places.near(rng, home, VenueKind.OTHER), 0.5))
    visits.append((places.near(rng, home, VenueKind.HOSPITAL), 0.3))
    visits.append((places.anywhere(rng, VenueKind.HOTEL), 0.2))
    venues, cum_weights = _cumulative(visits)
    staff_scan_share = 0.3 if person.date_of_birth.year < 1960 else 0.05
    return Routine(venues, cum_weights, staff_scan_share)


def _method(rng: random.Random, person: Person, routine: Routine) -> CheckInMethod:
    if rng.random() >= routine.staff_scan_share:
        return CheckInMethod.APP_SCAN
    if person.insurance_number and rng.random() < 0.6:
        return CheckInMethod.STAFF_SCAN_INSURANCE
    return CheckInMethod.STAFF_SCAN_PRINTED_QR


def _check_in_row(
    rng: random.Random,
    person: Person,
    venue: SeedVenue,
    checked_in_at: datetime,
    method: CheckInMethod,
) -> Row:
    declaration = _declaration_answer(rng) if venue.asks_declaration else None
    return (
        _uuid(rng),
        checked_in_at,
        person.id,
        venue.id,
        method.value,
        declaration,
        checked_in_at,
    )


def _check_in_chunk(
    rng: random.Random, people: Sequence[Person], counts: Sequence[int], world: World
) -> list[Row]:
    rows: list[Row] = []
    days = [(world.anchor - timedelta(days=d)).date() for d in range(1, CHECK_IN_DAYS + 1)]
    for person, count in zip(people, counts, strict=True):
        if count == 0:
            continue
        routine = _routine(rng, person, world.places)
        for _ in range(count):
            venue = rng.choices(routine.venues, cum_weights=routine.cum_weights)[0]
            opens, closes = _OPENING_HOURS[venue.kind]
            at = _at_local(rng.choice(days), _hours(rng, opens, closes))
            rows.append(_check_in_row(rng, person, venue, at, _method(rng, person, routine)))
    return rows


def _demo_check_ins(rng: random.Random, world: World) -> list[Row]:
    """Bus and office on weekdays, lunch out twice a week, lychee and market on Saturdays,
    groceries on Sundays."""
    demo, rows = world.demo, []
    for days_ago in range(CHECK_IN_DAYS, 0, -1):
        day = (world.anchor - timedelta(days=days_ago)).date()
        visits: list[tuple[VenueKind, float, CheckInMethod]] = []
        if day.weekday() < 5:
            visits += [
                (VenueKind.WORKER_BUS, 6.1, CheckInMethod.APP_SCAN),
                (VenueKind.OFFICE, 7.4, CheckInMethod.APP_SCAN),
            ]
        if day.weekday() in (2, 4):
            visits.append((VenueKind.RESTAURANT, 11.75, CheckInMethod.APP_SCAN))
        if day.weekday() == 5:
            market_method = (
                CheckInMethod.STAFF_SCAN_INSURANCE if days_ago < 8 else CheckInMethod.APP_SCAN
            )
            visits += [
                (VenueKind.LYCHEE_WEIGHING_STATION, 5.5, CheckInMethod.APP_SCAN),
                (VenueKind.MARKET, 7.0, market_method),
            ]
        if day.weekday() == 6:
            visits.append((VenueKind.GROCERY, 17.5, CheckInMethod.APP_SCAN))
        for kind, hour, method in visits:
            at = _at_local(day, hour * 3600 + rng.randrange(600))
            rows.append(_check_in_row(rng, demo, world.demo_venue(kind), at, method))
    return rows


# Loading


@asynccontextmanager
async def _bulk(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction for bulk loading: no statement timeout, asynchronous commit."""
    async with engine.connect() as connection:
        await connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        await connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
        yield connection
        await connection.commit()


async def _copy(
    connection: AsyncConnection,
    store: Store,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Row],
) -> None:
    if not rows:
        return
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table,
        schema_name=store.schema,
        columns=list(columns),
        records=rows,
        timeout=COPY_TIMEOUT,
    )


async def _demo_citizen_exists(core: AsyncEngine) -> bool:
    citizens = Citizen.__table__
    async with core.connect() as connection:
        query = sa.select(citizens.c.id).where(citizens.c.phone == DEMO_PHONE)
        return (await connection.scalar(query)) is not None


async def _write_citizens(core: AsyncEngine, world: World, report: Progress) -> None:
    rng = _rng(world.seed, "identifiers")
    created_at = datetime(2020, 4, 18, tzinfo=UTC)
    async with _bulk(core) as connection:
        venue_rows = [_venue_row(venue, created_at) for venue in world.venues]
        await _copy(connection, Store.CORE, "venues", VENUE_COLUMNS, venue_rows)
        for number in range(_chunk_count(world)):
            people = _chunk(world, number)
            citizens = [_citizen_row(person) for person in people]
            identifiers = [row for person in people for row in _identifier_rows(rng, person)]
            await _copy(connection, Store.CORE, "citizens", CITIZEN_COLUMNS, citizens)
            await _copy(
                connection, Store.CORE, "citizen_identifiers", IDENTIFIER_COLUMNS, identifiers
            )
        report(f"citizens {len(world.people)}, venues {len(world.venues)}")


async def _write_labs(testing: AsyncEngine) -> None:
    async with testing.begin() as connection:
        statement = insert(Lab.__table__).values(_labs()).on_conflict_do_nothing()
        await connection.execute(statement)


def _checked(kind: "RecordKind", batch: Batch, catalog: Catalog) -> list[ValidRecord]:
    """The batch as the record writer takes it: through the same validation as every
    other record (a refusal here is a bug in this generator), keeping the generated IDs."""
    valid: list[ValidRecord] = []
    for record in batch.records:
        checked = kind.validate(record.input, catalog)
        if isinstance(checked, list):
            raise RuntimeError(f"generated an invalid {kind.label[:-1]}: {checked[0]}")
        checked.values["id"] = record.id
        valid.append(checked)
    return valid


async def _load_records(engines: Engines, kind: "RecordKind", records: list[ValidRecord]) -> None:
    """Write one batch through the record writer, which matches it."""
    await write_records(engines, kind.writes, Writer(kind.source, bulk=True), records)


@dataclass
class Written:
    rows: int = 0

    def add(self, rows: int) -> None:
        self.rows += rows


def _chunk_count(world: World) -> int:
    return -(-len(world.people) // CHUNK_CITIZENS)


def _chunk(world: World, number: int) -> Sequence[Person]:
    return world.people[number * CHUNK_CITIZENS : (number + 1) * CHUNK_CITIZENS]


def _citizens_done(number: int, world: World) -> str:
    done = min((number + 1) * CHUNK_CITIZENS, len(world.people))
    return f"{done}/{len(world.people)} citizens"


async def _pipeline(
    make: Callable[[int], T], count: int, load: Callable[[int, T], Awaitable[None]]
) -> None:
    """Generate chunk n + 1 in a worker thread while chunk n loads."""
    upcoming = asyncio.create_task(asyncio.to_thread(make, 0)) if count else None
    try:
        for number in range(count):
            assert upcoming is not None
            chunk = await upcoming
            upcoming = None
            if number + 1 < count:
                upcoming = asyncio.create_task(asyncio.to_thread(make, number + 1))
            await load(number, chunk)
    finally:
        if upcoming is not None:
            upcoming.cancel()


@dataclass(frozen=True)
class RecordKind:
    """How one record store's records are generated, checked, written and reported."""

    writes: records.RecordKind
    source: str
    label: str
    random_stream: str
    chunk: Callable[[random.Random, str, Sequence[Person], World], Batch]
    validate: Callable[..., ValidRecord | list[Problem]]


VACCINATIONS = RecordKind(
    records.VACCINATIONS,
    VACCINATION_SOURCE,
    "vaccination records",
    "vaccinations",
    _vaccination_chunk,
    validate_vaccination,
)
SAMPLES = RecordKind(
    records.SAMPLES,
    TESTING_SOURCE,
    "samples",
    "samples",
    _testing_chunk,
    validate_sample,
)


async def _write_kind(
    engines: Engines,
    world: World,
    report: Progress,
    kind: RecordKind,
    demo: Batch,
    catalog: Catalog,
) -> Written:
    """The demo citizen's records first, then everyone's, chunk by chunk."""
    written = Written()

    def make(number: int) -> list[ValidRecord]:
        rng = _rng(world.seed, kind.random_stream, number)
        batch = kind.chunk(rng, f"{number:04d}", _chunk(world, number), world)
        return _checked(kind, batch, catalog)

    async def load(batch: list[ValidRecord]) -> None:
        await _load_records(engines, kind, batch)
        written.add(len(batch))

    async def load_chunk(number: int, batch: list[ValidRecord]) -> None:
        await load(batch)
        report(f"{kind.label} {written.rows} ({_citizens_done(number, world)})")

    await load(_checked(kind, demo, catalog))
    await _pipeline(make, _chunk_count(world), load_chunk)
    return written


async def _write_records(
    engines: Engines, world: World, report: Progress
) -> tuple[Written, Written]:
    demo = _demo_vaccinations(_rng(world.seed, "demo-vaccinations"), world)
    mistyped = demo.batch.records[-1].input
    identity = RecordIdentity.from_typed(
        mistyped.national_id,
        mistyped.insurance_number,
        mistyped.phone,
        mistyped.date_of_birth,
        mistyped.full_name,
    )
    if world.directory.match(identity).linked:
        raise RuntimeError("the demo record meant for an operator matched automatically")
    async with engines[Store.IMMUNIZATION].connect() as immunization:
        vaccines = await load_catalog(immunization=immunization)
    labs = frozenset(lab["code"] for lab in _labs())
    catalog = Catalog(vaccines.vaccines, labs)
    vaccinations = await _write_kind(engines, world, report, VACCINATIONS, demo.batch, catalog)
    await _reconcile(engines[Store.CORE], demo.reconciled_record_id, world.demo.id)
    demo_samples = _demo_samples(_rng(world.seed, "demo-samples"), world)
    samples = await _write_kind(engines, world, report, SAMPLES, demo_samples, catalog)
    return vaccinations, samples


async def _write_check_ins(core: AsyncEngine, world: World, report: Progress) -> int:
    counts = _check_in_counts(world.seed, world.people)
    demo_rows = _demo_check_ins(_rng(world.seed, "demo-check-ins"), world)
    total = sum(counts) + len(demo_rows)
    written = Written()

    def make(number: int) -> list[Row]:
        rng = _rng(world.seed, "check-ins", number)
        start = number * CHUNK_CITIZENS
        people = _chunk(world, number)
        return _check_in_chunk(rng, people, counts[start : start + len(people)], world)

    async def load(number: int, rows: list[Row]) -> None:
        async with _bulk(core) as connection:
            await _copy(connection, Store.CORE, "check_ins", CHECK_IN_COLUMNS, rows)
        written.add(len(rows))
        report(f"check-ins {written.rows}/{total}")

    first_day = (world.anchor - timedelta(days=CHECK_IN_DAYS + 1)).date()
    async with _bulk(core) as connection:
        await ensure_partitions(connection, months_between(first_day, world.anchor.date()))
    await load(-1, demo_rows)
    await _pipeline(make, _chunk_count(world), load)
    return written.rows


async def _reconcile(core: AsyncEngine, record_id: uuid.UUID, citizen_id: uuid.UUID) -> None:
    """What the Bắc Giang operator decided about the demo citizen's mistyped record."""
    links = RecordLink.__table__
    statement = (
        sa.update(links)
        .where(
            links.c.store == RecordStore.IMMUNIZATION.value,
            links.c.record_id == record_id,
        )
        .values(
            status=LinkStatus.LINKED.value,
            citizen_id=citizen_id,
            method=LinkMethod.OPERATOR.value,
            reason=None,
            decided_by=DEMO_RECONCILED_BY,
        )
    )
    async with core.begin() as connection:
        await connection.execute(statement)


async def _register_without_phone(engines: Engines, seed: int) -> uuid.UUID:
    """The demo province office registers a citizen who has no phone, as an office does
    (auth.registration), so the office's steps can be tried on her."""
    async with engines[Store.CORE].begin() as core:
        office = await office_named(core, DEMO_OFFICE_NAME)
        if office is None:
            issued = await partners.create(
                core, DEMO_OFFICE_NAME, [Scope.RECONCILE], province_code=names.BAC_GIANG.code
            )
            office = Office(issued.partner_id, issued.name, names.BAC_GIANG.code)
    new_id = _uuid(_rng(seed, "without phone"))
    registered = await register_citizen(engines, office, WITHOUT_PHONE, "demo-seed", new_id)
    return registered.citizen_id


async def _unmatched_records(core: AsyncEngine) -> int:
    """Counted once everything is written: a record that confirms a citizen's claims links
    the records matched in vain before it (models.relinking)."""
    query = "SELECT count(*) FROM core.record_links WHERE status = 'UNMATCHED'"
    async with core.connect() as connection:
        return int(await connection.scalar(sa.text(query)))


async def seed(
    engines: Engines,
    citizens: int = 1000,
    *,
    random_seed: int = 2021,
    progress: Progress | None = None,
) -> SeedSummary:
    """Fill the three (migrated) stores with demo data around the demo citizen.

    Raises AlreadySeeded, before writing anything, when the demo citizen exists.
    """
    if citizens < 1:
        raise ValueError("citizens must be at least 1: the demo citizen")
    report: Progress = progress or (lambda _message: None)
    core = engines[Store.CORE]
    if await _demo_citizen_exists(core):
        raise AlreadySeeded(f"the demo citizen ({DEMO_PHONE}) exists already")
    world = build_world(random_seed, citizens, _today_midnight_utc())
    await _write_citizens(core, world, report)
    await _write_labs(engines[Store.TESTING])
    try:
        async with asyncio.TaskGroup() as group:
            records = group.create_task(_write_records(engines, world, report))
            check_ins_written = group.create_task(_write_check_ins(core, world, report))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    vaccinations, samples = records.result()
    check_ins = check_ins_written.result()
    without_phone = await _register_without_phone(engines, random_seed)
    return SeedSummary(
        demo_citizen_id=world.demo.id,
        without_phone_citizen_id=without_phone,
        citizens=len(world.people) + 1,
        vaccination_records=vaccinations.rows,
        samples=samples.rows,
        venues=len(world.venues),
        check_ins=check_ins,
        unmatched_records=await _unmatched_records(core),
    )
