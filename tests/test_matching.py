"""Records typed at sites reach the right citizen, and never a wrong one."""

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from models.identifiers import IdentifierKind
from models.link import LinkMethod, RecordLink, UnmatchedReason
from models.matching import CandidateCitizen, CitizenDirectory, RecordIdentity, decide_match
from models.stores import Store

BIRTH = date(1990, 5, 14)


def citizen(birth: date | None = BIRTH, **verified: str) -> CandidateCitizen:
    candidate = CandidateCitizen(uuid.uuid4(), birth)
    for kind, value in verified.items():
        candidate.verified[IdentifierKind(kind)].add(value)
    return candidate


def record(
    national_id: str | None = None,
    insurance: str | None = None,
    phone: str | None = None,
    birth: date | None = None,
) -> RecordIdentity:
    return RecordIdentity.from_typed(national_id, insurance, phone, birth)


def test_national_id_links_first():
    an = citizen(CCCD="024090001234", PHONE="0912000001")

    outcome = decide_match(record("024090001234"), [an])

    assert (outcome.citizen_id, outcome.method) == (an.id, LinkMethod.NATIONAL_ID)


def test_old_cmnd_links_a_citizen_who_also_holds_a_cccd():
    an = citizen(CCCD="024090001234", CMND="121234567")

    assert decide_match(record("121234567"), [an]).citizen_id == an.id


def test_a_national_id_with_another_birth_date_is_not_linked():
    an = citizen(CCCD="024090001234")

    outcome = decide_match(record("024090001234", birth=date(1960, 1, 1)), [an])

    assert outcome.citizen_id is None
    assert outcome.reason is UnmatchedReason.CONFLICTING_IDENTIFIERS


def test_insurance_number_does_not_link_when_the_national_ids_conflict():
    an = citizen(CCCD="024090001234", BHYT="HS4240123456789")

    outcome = decide_match(record("024099999999", "HS4240123456789"), [an])

    assert outcome.citizen_id is None
    assert outcome.reason is UnmatchedReason.CONFLICTING_IDENTIFIERS


def test_insurance_number_links_when_the_record_has_no_national_id():
    an = citizen(CCCD="024090001234", BHYT="HS4240123456789")

    outcome = decide_match(record(insurance="HS4240123456789"), [an])

    assert (outcome.citizen_id, outcome.method) == (an.id, LinkMethod.INSURANCE_NUMBER)


def test_insurance_links_when_the_record_carries_a_national_id_of_another_kind():
    an = citizen(CCCD="024090001234", BHYT="HS4240123456789")

    outcome = decide_match(record("121234567", "HS4240123456789"), [an])

    assert outcome.citizen_id == an.id


def test_phone_and_birth_date_link_when_nothing_else_does():
    an = citizen(PHONE="0381234567")

    outcome = decide_match(record(phone="01681234567", birth=BIRTH), [an])

    assert (outcome.citizen_id, outcome.method) == (an.id, LinkMethod.PHONE_AND_BIRTH_DATE)


def test_a_parents_dose_typed_with_the_childs_phone_is_not_the_childs():
    child = citizen(birth=date(2005, 3, 3), PHONE="0912000001")

    outcome = decide_match(record(phone="0912000001", birth=date(1962, 8, 8)), [child])

    assert outcome.citizen_id is None
    assert outcome.reason is UnmatchedReason.NO_MATCH


def test_phone_without_birth_date_never_links():
    an = citizen(PHONE="0912000001")

    assert decide_match(record(phone="0912000001"), [an]).citizen_id is None


def test_twins_sharing_a_phone_and_birth_date_are_several_citizens():
    first, second = citizen(PHONE="0912000001"), citizen(PHONE="0912000001")

    outcome = decide_match(record(phone="0912000001", birth=BIRTH), [first, second])

    assert outcome.citizen_id is None
    assert outcome.reason is UnmatchedReason.SEVERAL_CITIZENS


def test_phone_match_with_a_conflicting_insurance_number_is_not_linked():
    an = citizen(PHONE="0912000001", BHYT="HS4240123456789")

    outcome = decide_match(
        record(insurance="DN4011111111111", phone="0912000001", birth=BIRTH), [an]
    )

    assert outcome.reason is UnmatchedReason.CONFLICTING_IDENTIFIERS


def test_unknown_identifiers_are_no_match():
    outcome = decide_match(record("024090009999", birth=BIRTH), [])

    assert outcome.reason is UnmatchedReason.NO_MATCH


def test_directory_finds_candidates_by_any_shared_identifier():
    an = citizen(CCCD="024090001234", PHONE="0912000001")
    directory = CitizenDirectory([an, citizen(CCCD="079090000001")])

    assert directory.match(record(phone="+84 912 000 001", birth=BIRTH)).citizen_id == an.id


VACCINATIONS = "{ me { vaccinations { vaccine { code } } } }"


async def test_unverified_identifiers_never_link_a_record(graphql, given):
    an = await given.citizen(unverified={"CCCD": "024090001234"})
    await given.vaccination(national_id="024090001234")

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert body["data"]["me"]["vaccinations"] == []


async def test_verified_identifiers_link_the_record(graphql, given):
    an = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert body["data"]["me"]["vaccinations"] == [{"vaccine": {"code": "AZD1222"}}]


async def test_another_persons_mistyped_id_goes_to_the_reconciliation_queue(
    graphql, given, engines
):
    an = await given.citizen(national_id="024090001234")
    record_id = await given.vaccination(national_id="024090001234", date_of_birth=date(1971, 2, 2))

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert body["data"]["me"]["vaccinations"] == []
    async with engines[Store.CORE].connect() as core:
        link = (
            await core.execute(
                sa.select(RecordLink.__table__).where(RecordLink.__table__.c.record_id == record_id)
            )
        ).one()
    assert (link.status, link.reason, link.province_code) == (
        "UNMATCHED",
        "CONFLICTING_IDENTIFIERS",
        "24",
    )


async def test_records_entered_in_error_are_not_shown(graphql, given):
    an = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234", status="ENTERED_IN_ERROR")

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert body["data"]["me"]["vaccinations"] == []


@pytest.mark.parametrize("typed_phone", ["0912000001", "+84912000001", "0912 000 001"])
async def test_phone_and_birth_date_link_whatever_the_phone_format(graphql, given, typed_phone):
    an = await given.citizen(phone="0912000001")
    await given.vaccination(phone=typed_phone, date_of_birth=BIRTH)

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert len(body["data"]["me"]["vaccinations"]) == 1


def test_a_phone_match_under_another_name_is_not_linked():
    mother = citizen(PHONE="0912000001")
    mother.full_name = "tran thi binh"

    outcome = decide_match(
        RecordIdentity.from_typed(None, None, "0912000001", BIRTH, "Nguyễn Văn An"), [mother]
    )

    assert outcome.reason is UnmatchedReason.CONFLICTING_IDENTIFIERS


def test_a_phone_match_links_whatever_the_case_and_accents_of_the_typed_name():
    an = citizen(PHONE="0912000001")
    an.full_name = "nguyen van an"

    outcome = decide_match(
        RecordIdentity.from_typed(None, None, "0912000001", BIRTH, "NGUYEN VAN AN"), [an]
    )

    assert outcome.citizen_id == an.id


def test_names_never_stop_a_national_id_match():
    an = citizen(CCCD="024090001234")
    an.full_name = "nguyen van an"

    outcome = decide_match(
        RecordIdentity.from_typed("024090001234", None, None, None, "Nguyen Van Anh"), [an]
    )

    assert outcome.citizen_id == an.id


async def test_a_dose_typed_with_my_phone_and_birth_date_under_another_name_is_not_mine(
    graphql, given
):
    an = await given.citizen(phone="0912000001", full_name="Nguyễn Văn An")
    await given.vaccination(phone="0912000001", date_of_birth=BIRTH, full_name="Nguyễn Văn Bình")

    body = await graphql.query(VACCINATIONS, as_citizen=an)

    assert body["data"]["me"]["vaccinations"] == []
