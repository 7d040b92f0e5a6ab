"""Tables of measurements, medians across rounds, and ratios, as Markdown."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.load import LoadResult, median

NONE = "n/a"


@dataclass(frozen=True)
class Measurement:
    target: str
    kind: str
    round: int
    result: LoadResult
    server_cores: float | None
    postgres_cores: float
    client_cores: float
    machine_cores: float
    postgres_backends_started: int
    revision: str = ""
    scenario: str = "cold"

    @property
    def other_cores(self) -> float:
        """Machine CPU that neither the server, PostgreSQL nor the load generator used."""
        known = (self.server_cores or 0) + self.postgres_cores + self.client_cores
        return max(0.0, self.machine_cores - known)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_second"] = self.result.per_second
        data["other_cores"] = self.other_cores
        return data


@dataclass(frozen=True)
class Summary:
    """One row: a single measurement, or the medians of a target's measurements."""

    target: str
    kind: str
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cores: float | None
    postgres_cores: float
    client_cores: float
    other_cores: float
    postgres_backends_started: float
    scenario: str = "cold"

    @property
    def per_cpu_second(self) -> float | None:
        """Dashboards per CPU-second of the server and PostgreSQL together."""
        cores = (self.server_cores or 0) + self.postgres_cores
        return self.per_second / cores if cores else None


def _single(m: Measurement) -> Summary:
    return Summary(
        target=m.target,
        kind=m.kind,
        per_second=m.result.per_second,
        p50_ms=m.result.p50_ms,
        p99_ms=m.result.p99_ms,
        errors=m.result.errors,
        server_cores=m.server_cores,
        postgres_cores=m.postgres_cores,
        client_cores=m.client_cores,
        other_cores=m.other_cores,
        postgres_backends_started=m.postgres_backends_started,
        scenario=m.scenario,
    )


def _medians(own: Sequence[Measurement]) -> Summary:
    servers = [m.server_cores for m in own if m.server_cores is not None]
    return Summary(
        target=own[0].target,
        kind=own[0].kind,
        per_second=median([m.result.per_second for m in own]),
        p50_ms=median([m.result.p50_ms for m in own]),
        p99_ms=median([m.result.p99_ms for m in own]),
        errors=sum(m.result.errors for m in own),
        server_cores=median(servers) if servers else None,
        postgres_cores=median([m.postgres_cores for m in own]),
        client_cores=median([m.client_cores for m in own]),
        other_cores=median([m.other_cores for m in own]),
        postgres_backends_started=median([m.postgres_backends_started for m in own]),
        scenario=own[0].scenario,
    )


def summarise(measurements: Sequence[Measurement]) -> list[Summary]:
    targets = list(dict.fromkeys(m.target for m in measurements))
    return [_medians([m for m in measurements if m.target == t]) for t in targets]


def _percent(cores: float | None) -> str:
    return NONE if cores is None else f"{cores * 100:.0f}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


_HEADER = (
    "target",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "server CPU",
    "PostgreSQL CPU",
    "load generator CPU",
    "other CPU",
    "new PG backends",
)


def _row(s: Summary) -> list[str]:
    return [
        s.target,
        f"{s.per_second:,.0f}",
        f"{s.p50_ms:.2f}",
        f"{s.p99_ms:.2f}",
        str(s.errors),
        _percent(s.server_cores),
        _percent(s.postgres_cores),
        _percent(s.client_cores),
        _percent(s.other_cores),
        f"{s.postgres_backends_started:,.0f}",
    ]


def round_table(measurements: Sequence[Measurement]) -> str:
    return _table(_HEADER, (_row(_single(m)) for m in measurements))


def median_table(summaries: Sequence[Summary]) -> str:
    return _table(_HEADER, (_row(s) for s in summaries))


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else NONE


def _ratio_or_none(numerator: float | None, denominator: float | None) -> str:
    return _ratio(numerator, denominator) if numerator and denominator else NONE


def ratio_table(summaries: Sequence[Summary]) -> str:
    """Each of our targets against every other target of the same scenario, with the
    other CPU of both runs beside the ratio: a high one says the pair is noisy."""
    ours = [s for s in summaries if s.kind == "ours"]
    others = [s for s in summaries if s.kind != "ours"]
    rows = [
        [
            f"{mine.target} / {other.target}",
            _ratio(mine.per_second, other.per_second),
            _ratio(mine.p50_ms, other.p50_ms),
            _ratio(mine.p99_ms, other.p99_ms),
            _ratio_or_none(mine.per_cpu_second, other.per_cpu_second),
            f"{_percent(mine.other_cores)} / {_percent(other.other_cores)}",
        ]
        for mine in ours
        for other in others
        if other.scenario == mine.scenario
    ]
    header = ("ratio", "req/s", "p50", "p99", "dashboards per CPU-second", "other CPU (both runs)")
    return _table(header, rows)


def _cpu_ms(cores: float | None, per_second: float) -> str:
    return f"{cores * 1000 / per_second:.2f}" if cores is not None and per_second else NONE


def _per_cpu_second(s: Summary) -> str:
    return NONE if s.per_cpu_second is None else f"{s.per_cpu_second:,.0f}"


def efficiency_table(summaries: Sequence[Summary]) -> str:
    """CPU per dashboard, and dashboards per CPU-second (server + PostgreSQL) with its
    ratio to PostGraphile's in the same scenario."""
    reference = {s.scenario: s for s in summaries if s.kind == "postgraphile"}
    rows = [
        [
            s.target,
            _cpu_ms(s.server_cores, s.per_second),
            _cpu_ms(s.postgres_cores, s.per_second),
            _per_cpu_second(s),
            _ratio_or_none(
                s.per_cpu_second,
                reference[s.scenario].per_cpu_second if s.scenario in reference else None,
            ),
            _percent(s.other_cores),
        ]
        for s in summaries
    ]
    header = (
        "target",
        "server CPU ms per request",
        "PostgreSQL CPU ms per request",
        "dashboards per CPU-second",
        "ratio to PostGraphile",
        "other CPU",
    )
    return _table(header, rows)


def interference(measurements: Sequence[Measurement], limit: float = 0.15) -> list[str]:
    """Runs during which other processes used a noticeable share of the machine."""
    return [
        f"round {m.round + 1}, {m.target}: other processes used {m.other_cores:.0%} of a core"
        for m in measurements
        if m.other_cores > limit
    ]


def revisions(measurements: Sequence[Measurement]) -> list[str]:
    """Each measured service revision with the runs that used it."""
    runs: dict[str, list[str]] = {}
    for m in measurements:
        if m.revision:
            runs.setdefault(m.revision, []).append(f"round {m.round + 1} {m.target}")
    return [f"{revision}: {', '.join(used)}" for revision, used in runs.items()]
