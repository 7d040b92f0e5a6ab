"""The pass rules at their edges: local days for day counts, exact hours for hour counts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models.config import Settings
from models.health_status import (
    NO_RECORD_REASON,
    Colour,
    Dose,
    PassRules,
    TestRecord,
    evaluate,
    fully_vaccinated_from,
    recovered,
)
from models.testing import TestOutcome, TestType

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
RULES = PassRules.from_settings(Settings(_env_file=None))
# 23:30 in Hanoi on 1 August 2021 is still 1 August there (16:30 UTC).
LATE_EVENING = datetime(2021, 8, 1, 23, 30, tzinfo=HANOI)

AZ = ("AstraZeneca", 2)
PFIZER = ("Pfizer-BioNTech", 2)
JANSSEN = ("Janssen", 1)
ABDALA = ("Abdala", 3)


def dose(vaccine: tuple[str, int], at: datetime) -> Dose:
    name, series = vaccine
    return Dose(administered_at=at, primary_series_doses=series, vaccine_name=name)


def result(
    kind: TestType, outcome: TestOutcome, at: datetime, *, pooled: bool = False
) -> TestRecord:
    return TestRecord(collected_at=at, test_type=kind, outcome=outcome, pooled=pooled)


def local_day(base: datetime, days: int, hour: int = 0, minute: int = 0) -> datetime:
    """`hour:minute` local time on the calendar day `days` after base's local day."""
    day = base.astimezone(HANOI).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI)


def colour(doses=(), tests=(), *, at: datetime) -> Colour:
    return evaluate(list(doses), list(tests), RULES, at).colour


def test_day_13_after_the_completing_dose_is_partly_vaccinated_and_day_14_fully():
    doses = [dose(AZ, LATE_EVENING - timedelta(days=60)), dose(AZ, LATE_EVENING)]

    day_13 = evaluate(doses, [], RULES, local_day(LATE_EVENING, 13, 23, 59))
    day_14 = evaluate(doses, [], RULES, local_day(LATE_EVENING, 14))

    assert day_13.colour is Colour.YELLOW
    assert day_13.valid_until == local_day(LATE_EVENING, 14)
    assert day_14.colour is Colour.GREEN
    assert day_14.valid_until is None
    assert fully_vaccinated_from(doses, RULES) == local_day(LATE_EVENING, 14).date()


def test_days_are_counted_in_hanoi_not_in_utc():
    # 1 August 23:30 in Hanoi is 1 August 16:30 UTC; 00:30 on 2 August in Hanoi is still
    # 1 August in UTC, but it is the next local day, so protection starts a day later.
    after_midnight = datetime(2021, 8, 2, 0, 30, tzinfo=HANOI)

    assert fully_vaccinated_from([dose(JANSSEN, LATE_EVENING)], RULES).isoformat() == "2021-08-15"
    assert fully_vaccinated_from([dose(JANSSEN, after_midnight)], RULES).isoformat() == (
        "2021-08-16"
    )


def test_a_single_janssen_dose_completes_the_primary_series():
    doses = [dose(JANSSEN, LATE_EVENING)]

    assert colour(doses, at=local_day(LATE_EVENING, 13, 12)) is Colour.YELLOW
    assert colour(doses, at=local_day(LATE_EVENING, 14)) is Colour.GREEN


def test_abdala_needs_its_third_dose():
    first, second, third = (LATE_EVENING + timedelta(days=d) for d in (0, 14, 28))
    two = [dose(ABDALA, first), dose(ABDALA, second)]
    three = [*two, dose(ABDALA, third)]

    assert colour(two, at=local_day(second, 100)) is Colour.YELLOW
    assert colour(three, at=local_day(third, 13, 12)) is Colour.YELLOW
    assert colour(three, at=local_day(third, 14)) is Colour.GREEN


def test_astrazeneca_then_pfizer_is_a_complete_primary_series():
    mixed = [dose(AZ, LATE_EVENING), dose(PFIZER, LATE_EVENING + timedelta(days=56))]

    assert colour(mixed, at=local_day(mixed[1].administered_at, 14)) is Colour.GREEN


def test_a_booster_keeps_a_citizen_fully_vaccinated_and_is_named():
    doses = [
        dose(PFIZER, LATE_EVENING),
        dose(PFIZER, LATE_EVENING + timedelta(days=21)),
        dose(PFIZER, LATE_EVENING + timedelta(days=200)),
    ]

    status = evaluate(doses, [], RULES, LATE_EVENING + timedelta(days=210))

    assert status.colour is Colour.GREEN
    assert "1 booster dose(s)" in status.reasons[0]


def test_recovery_counts_from_day_11_through_day_180_after_a_positive_pcr():
    positive = [result(TestType.RT_PCR, TestOutcome.POSITIVE, LATE_EVENING)]

    def holds(days: int, hour: int = 12) -> bool:
        moment = local_day(LATE_EVENING, days, hour)
        return any(span.holds_at(moment) for span in recovered(positive, RULES))

    assert not holds(10, 23)
    assert holds(11, 0)
    assert holds(180, 23)
    assert not holds(181, 0)


def test_a_positive_pcr_is_red_for_14_days_then_green_until_day_180():
    positive = [result(TestType.RT_PCR, TestOutcome.POSITIVE, LATE_EVENING)]

    day_10 = evaluate([], positive, RULES, local_day(LATE_EVENING, 10, 12))
    day_11 = evaluate([], positive, RULES, local_day(LATE_EVENING, 11, 12))
    day_180 = evaluate([], positive, RULES, local_day(LATE_EVENING, 180, 12))
    day_181 = evaluate([], positive, RULES, local_day(LATE_EVENING, 181, 12))

    # The positive test outweighs the recovery until its 14 days are over.
    assert day_10.colour is Colour.RED
    assert day_11.colour is Colour.RED
    assert day_11.valid_until == local_day(LATE_EVENING, 14)
    assert day_180.colour is Colour.GREEN
    assert day_180.valid_until == local_day(LATE_EVENING, 181)
    assert day_181.colour is Colour.RED
    assert day_181.reasons == [NO_RECORD_REASON]


def test_a_positive_test_of_any_kind_overrides_full_vaccination_for_14_days():
    doses = [dose(JANSSEN, LATE_EVENING - timedelta(days=100))]
    rapid = [result(TestType.RAPID_ANTIGEN, TestOutcome.POSITIVE, LATE_EVENING)]

    during = evaluate(doses, rapid, RULES, local_day(LATE_EVENING, 13, 23, 59))

    assert during.colour is Colour.RED
    assert during.reasons == ["Positive rapid antigen test on 2021-08-01."]
    assert during.valid_until == local_day(LATE_EVENING, 14)
    assert colour(doses, rapid, at=local_day(LATE_EVENING, 14)) is Colour.GREEN


def test_a_positive_rapid_test_is_not_a_recovery():
    rapid = [result(TestType.RAPID_ANTIGEN, TestOutcome.POSITIVE, LATE_EVENING)]

    assert colour(tests=rapid, at=local_day(LATE_EVENING, 30)) is Colour.RED


def test_a_positive_pooled_pcr_is_red_but_is_not_a_recovery():
    pooled = [result(TestType.RT_PCR, TestOutcome.POSITIVE, LATE_EVENING, pooled=True)]

    assert colour(tests=pooled, at=local_day(LATE_EVENING, 5)) is Colour.RED
    assert recovered(pooled, RULES) == []


def test_a_negative_pcr_is_yellow_for_exactly_72_hours():
    collected = datetime(2021, 9, 1, 8, 15, tzinfo=UTC)
    negative = [result(TestType.RT_PCR, TestOutcome.NEGATIVE, collected, pooled=True)]

    before = evaluate([], negative, RULES, collected + timedelta(hours=72) - timedelta(seconds=1))

    assert before.colour is Colour.YELLOW
    assert before.valid_until == collected + timedelta(hours=72)
    assert colour(tests=negative, at=collected + timedelta(hours=72)) is Colour.RED


def test_a_negative_rapid_test_is_yellow_for_exactly_24_hours():
    collected = datetime(2021, 9, 1, 8, 15, tzinfo=UTC)
    negative = [result(TestType.RAPID_ANTIGEN, TestOutcome.NEGATIVE, collected)]

    assert colour(tests=negative, at=collected + timedelta(hours=23, minutes=59)) is Colour.YELLOW
    assert colour(tests=negative, at=collected + timedelta(hours=24)) is Colour.RED


def test_pending_and_inconclusive_results_say_nothing():
    collected = datetime(2021, 9, 1, 8, 15, tzinfo=UTC)
    tests = [
        result(TestType.RT_PCR, TestOutcome.PENDING, collected),
        result(TestType.RAPID_ANTIGEN, TestOutcome.INCONCLUSIVE, collected),
    ]

    assert evaluate([], tests, RULES, collected + timedelta(hours=1)).reasons == [NO_RECORD_REASON]


def test_valid_until_skips_changes_that_keep_the_colour():
    # A negative PCR (YELLOW) inside a partly vaccinated stretch (YELLOW): the colour only
    # changes when the second dose has had its 14 days.
    first = LATE_EVENING
    second = LATE_EVENING + timedelta(days=28)
    doses = [dose(PFIZER, first), dose(PFIZER, second)]
    negative = [result(TestType.RT_PCR, TestOutcome.NEGATIVE, second + timedelta(days=2))]

    status = evaluate(doses, negative, RULES, second + timedelta(days=2, hours=1))

    assert status.colour is Colour.YELLOW
    assert status.valid_until == local_day(second, 14)


def test_records_dated_after_the_moment_of_evaluation_do_not_count():
    later = [result(TestType.RT_PCR, TestOutcome.POSITIVE, LATE_EVENING + timedelta(days=1))]
    doses = [dose(JANSSEN, LATE_EVENING - timedelta(days=100))]

    assert colour(doses, later, at=LATE_EVENING) is Colour.GREEN


def test_nothing_on_record_is_red_for_good():
    status = evaluate([], [], RULES, LATE_EVENING)

    assert (status.colour, status.valid_until) == (Colour.RED, None)
