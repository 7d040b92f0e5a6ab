"""The colour of a citizen's health pass, from their doses and test results.

Each rule is a function that says over which span of time it holds; the colour
at any moment follows from the spans, and so does `valid_until`, the next
moment the colour changes by itself.

Time: counts in days are calendar days in the configured time zone
(Asia/Ho_Chi_Minh), as a citizen counts them: a dose given on 1 August
protects from the start of 15 August, local time, whatever the hour of the
dose. Counts in hours are exact hours from the moment a sample was collected,
as labs and checkpoints count a test's validity. Records dated after the
moment of evaluation do not count.

Tests count by their collection time and only with a result: pending and
inconclusive ones say nothing. A negative pooled RT-PCR is negative for
everyone in the tube. A positive pooled one turns the colour RED (someone in
the tube is infected) but does not prove a recovery: that needs the person's
own positive RT-PCR.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from models.config import Settings
from models.testing import TestOutcome, TestType
from models.vaccination import same_dose, summarise_series


class Colour(StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


@dataclass(frozen=True)
class Dose:
    administered_at: datetime
    primary_series_doses: int
    vaccine_name: str


@dataclass(frozen=True)
class TestRecord:
    collected_at: datetime
    test_type: TestType
    outcome: TestOutcome
    pooled: bool = False


@dataclass(frozen=True)
class PassRules:
    """Every threshold of the rules, from the settings."""

    time_zone: ZoneInfo
    fully_vaccinated_after_days: int = 14
    recovered_from_days: int = 11
    recovered_until_days: int = 180
    positive_days: int = 14
    negative_pcr_hours: int = 72
    negative_rapid_hours: int = 24

    @classmethod
    def from_settings(cls, settings: Settings) -> "PassRules":
        return cls(
            time_zone=ZoneInfo(settings.pass_time_zone),
            fully_vaccinated_after_days=settings.pass_fully_vaccinated_after_days,
            recovered_from_days=settings.pass_recovered_from_days,
            recovered_until_days=settings.pass_recovered_until_days,
            positive_days=settings.pass_positive_days,
            negative_pcr_hours=settings.pass_negative_pcr_hours,
            negative_rapid_hours=settings.pass_negative_rapid_hours,
        )

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.time_zone).date()

    def start_of_day_after(self, moment: datetime, days: int) -> datetime:
        """Midnight, local time, `days` calendar days after the local day of moment."""
        day = self.local_day(moment) + timedelta(days=days)
        return datetime.combine(day, time(), self.time_zone)


@dataclass(frozen=True)
class Span:
    """A rule holds from start (inclusive) until end (exclusive; None: for good)."""

    colour: Colour
    start: datetime
    end: datetime | None
    reason: str

    def holds_at(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class HealthStatus:
    colour: Colour
    reasons: list[str]
    # When the colour changes by itself; None: not without a new record.
    valid_until: datetime | None


NO_RECORD_REASON = "No vaccination, recovery or recent negative test on record."


def _day(moment: datetime, rules: PassRules) -> str:
    return rules.local_day(moment).isoformat()


def _hour(moment: datetime, rules: PassRules) -> str:
    return moment.astimezone(rules.time_zone).strftime("%Y-%m-%d %H:%M")


def fully_vaccinated(doses: Sequence[Dose], rules: PassRules) -> Span | None:
    """GREEN from the start of the local day `fully_vaccinated_after_days` after the dose
    that completes the primary series (the series rule is models.vaccination's)."""
    summary = summarise_series([(d.administered_at, d.primary_series_doses) for d in doses])
    if summary.completed_at is None:
        return None
    start = rules.start_of_day_after(summary.completed_at, rules.fully_vaccinated_after_days)
    boosters = f", {summary.boosters} booster dose(s)" if summary.boosters else ""
    return Span(
        Colour.GREEN,
        start,
        None,
        f"Fully vaccinated since {start.date().isoformat()}: primary series completed on "
        f"{_day(summary.completed_at, rules)}{boosters}.",
    )


def partly_vaccinated(doses: Sequence[Dose], rules: PassRules) -> Span | None:
    """YELLOW from the first dose until fully vaccinated."""
    if not doses:
        return None
    full = fully_vaccinated(doses, rules)
    summary = summarise_series([(d.administered_at, d.primary_series_doses) for d in doses])
    if full is not None:
        reason = (
            f"Partly vaccinated: primary series completed on "
            f"{_day(summary.completed_at or full.start, rules)}, "
            f"fully vaccinated from {full.start.date().isoformat()}."
        )
    else:
        first = doses[0]
        reason = (
            f"Partly vaccinated: {summary.doses} of {first.primary_series_doses} "
            f"primary-series doses ({first.vaccine_name} first)."
        )
    return Span(Colour.YELLOW, doses[0].administered_at, full.start if full else None, reason)


def recovered(tests: Sequence[TestRecord], rules: PassRules) -> list[Span]:
    """GREEN from local day `recovered_from_days` through day `recovered_until_days` after
    the person's own positive RT-PCR (not a pooled one)."""
    spans = []
    for test in tests:
        if (
            test.test_type is TestType.RT_PCR
            and test.outcome is TestOutcome.POSITIVE
            and not test.pooled
        ):
            end = rules.start_of_day_after(test.collected_at, rules.recovered_until_days + 1)
            spans.append(
                Span(
                    Colour.GREEN,
                    rules.start_of_day_after(test.collected_at, rules.recovered_from_days),
                    end,
                    f"Recovered: positive RT-PCR on {_day(test.collected_at, rules)}, "
                    f"counts until {(end.date() - timedelta(days=1)).isoformat()}.",
                )
            )
    return spans


def recent_positive(tests: Sequence[TestRecord], rules: PassRules) -> list[Span]:
    """RED, over everything else, from any positive test until the start of the local day
    `positive_days` after it."""
    return [
        Span(
            Colour.RED,
            test.collected_at,
            rules.start_of_day_after(test.collected_at, rules.positive_days),
            f"Positive {_test_name(test)} on {_day(test.collected_at, rules)}.",
        )
        for test in tests
        if test.outcome is TestOutcome.POSITIVE
    ]


def recent_negative(tests: Sequence[TestRecord], rules: PassRules) -> list[Span]:
    """YELLOW for `negative_pcr_hours` after a negative RT-PCR's collection, and for
    `negative_rapid_hours` after a negative rapid antigen test's."""
    spans = []
    for test in tests:
        if test.outcome is not TestOutcome.NEGATIVE:
            continue
        hours = (
            rules.negative_pcr_hours
            if test.test_type is TestType.RT_PCR
            else rules.negative_rapid_hours
        )
        spans.append(
            Span(
                Colour.YELLOW,
                test.collected_at,
                test.collected_at + timedelta(hours=hours),
                f"Negative {_test_name(test)} collected {_hour(test.collected_at, rules)} "
                f"(counts for {hours} hours).",
            )
        )
    return spans


def _test_name(test: TestRecord) -> str:
    name = "RT-PCR" if test.test_type is TestType.RT_PCR else "rapid antigen test"
    return f"pooled {name}" if test.pooled else name


def colour_at(spans: Sequence[Span], moment: datetime) -> tuple[Colour, list[str]]:
    """RED when a positive test holds; else GREEN, else YELLOW, by the spans that hold;
    else RED for want of anything."""
    holding = [span for span in spans if span.holds_at(moment)]
    for colour in (Colour.RED, Colour.GREEN, Colour.YELLOW):
        reasons = [span.reason for span in holding if span.colour is colour]
        if reasons:
            return colour, reasons
    return Colour.RED, [NO_RECORD_REASON]


def all_spans(
    doses: Sequence[Dose], tests: Sequence[TestRecord], rules: PassRules, now: datetime
) -> list[Span]:
    """Every rule's spans over the records known at `now`; doses oldest first."""
    doses = [d for d in doses if d.administered_at <= now]
    tests = [t for t in tests if t.collected_at <= now]
    spans = [fully_vaccinated(doses, rules), partly_vaccinated(doses, rules)]
    found = [span for span in spans if span is not None]
    return (
        found
        + recovered(tests, rules)
        + recent_positive(tests, rules)
        + recent_negative(tests, rules)
    )


def evaluate(
    doses: Sequence[Dose], tests: Sequence[TestRecord], rules: PassRules, now: datetime
) -> HealthStatus:
    """The colour at `now`, why, and the first later moment at which it differs."""
    spans = all_spans(doses, tests, rules, now)
    colour, reasons = colour_at(spans, now)
    edges = sorted({e for s in spans for e in (s.start, s.end) if e is not None and e > now})
    valid_until = next((edge for edge in edges if colour_at(spans, edge)[0] is not colour), None)
    return HealthStatus(colour, reasons, valid_until)


def fully_vaccinated_from(doses: Sequence[Dose], rules: PassRules) -> date | None:
    """The local day from which the doses make a citizen fully vaccinated."""
    span = fully_vaccinated(doses, rules)
    return span.start.date() if span else None


def doses_from_rows(rows: Sequence[Any]) -> list[Dose]:
    """From valid vaccination rows with their vaccine (models.vaccination), oldest first;
    a dose recorded by several systems counts once (models.vaccination.same_dose)."""
    return [
        Dose(dose[0].administered_at, dose[0].vaccine_primary_series_doses, dose[0].vaccine_name)
        for dose in same_dose(rows)
    ]


def tests_from_rows(rows: Sequence[Any]) -> list[TestRecord]:
    """From sample rows (models.testing)."""
    return [
        TestRecord(row.collected_at, TestType(row.test_type), TestOutcome(row.result), row.pooled)
        for row in rows
    ]
