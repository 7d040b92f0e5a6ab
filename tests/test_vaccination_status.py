"""The primary series completes per the vaccine catalog, mixed schedules included."""

from datetime import UTC, datetime

from models.vaccination import SeriesRole, summarise_series

JULY, SEPT, MARCH, JUNE = (
    datetime(2021, 7, 1, tzinfo=UTC),
    datetime(2021, 9, 30, tzinfo=UTC),
    datetime(2022, 3, 2, tzinfo=UTC),
    datetime(2022, 6, 1, tzinfo=UTC),
)


def test_astrazeneca_then_pfizer_completes_the_primary_series_and_then_boosts():
    summary = summarise_series([(JULY, 2), (SEPT, 2), (MARCH, 2)])

    assert summary.primary_complete
    assert summary.completed_at == SEPT
    assert summary.roles == [SeriesRole.PRIMARY, SeriesRole.PRIMARY, SeriesRole.BOOSTER]
    assert summary.boosters == 1


def test_one_janssen_dose_completes_the_primary_series():
    summary = summarise_series([(JULY, 1), (SEPT, 2)])

    assert summary.completed_at == JULY
    assert summary.roles == [SeriesRole.PRIMARY, SeriesRole.BOOSTER]


def test_abdala_needs_three_doses():
    two = summarise_series([(JULY, 3), (SEPT, 3)])
    three = summarise_series([(JULY, 3), (SEPT, 3), (MARCH, 3)])

    assert not two.primary_complete
    assert two.completed_at is None
    assert three.completed_at == MARCH


def test_no_doses_is_an_incomplete_series():
    summary = summarise_series([])

    assert (summary.doses, summary.primary_complete, summary.boosters) == (0, False, 0)


def test_a_three_dose_vaccine_after_one_astrazeneca_dose_waits_for_a_third_dose():
    summary = summarise_series([(JULY, 2), (SEPT, 3), (MARCH, 2), (JUNE, 2)])

    assert summary.completed_at == MARCH
    assert summary.roles[-1] is SeriesRole.BOOSTER
