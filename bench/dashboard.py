"""Side-by-side benchmark of the citizen dashboard: healthgraph, PostGraphile v5, pgbench.

Run from the repository root:

    .venv/bin/python -m bench.dashboard            # full run (100k citizens)
    .venv/bin/python -m bench.dashboard --quick    # small seed, short runs

Every target talks to PostgreSQL on 127.0.0.1 and every load stops after a fixed time.
"""

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import cpu, profiling, report, servers
from bench.database import (
    Database,
    ensure_heavy_history,
    ensure_seeded,
    history_sizes,
    install_helpers,
    postmaster_pid,
    prewarm,
    shuffled_citizen_ids,
)
from bench.equivalence import differences
from bench.load import HttpLoad, LoadResult, PgbenchLoad, run_pgbench, run_wrk
from bench.report import Measurement
from bench.tools import BENCH_DIR, REPO_DIR, RESULTS_DIR, node, pgbench, wrk

OUR_QUERY = BENCH_DIR / "dashboard.graphql"
POSTGRAPHILE_QUERY = BENCH_DIR / "postgraphile" / "dashboard.graphql"
PGBENCH_LOADS = {
    "pgbench 4 statements, simple": PgbenchLoad("four_statements.sql", "simple"),
    "pgbench 4 statements, prepared": PgbenchLoad("four_statements.sql", "prepared"),
    "pgbench 1 statement, prepared": PgbenchLoad("one_statement.sql", "prepared"),
}
LOOPBACK = ("127.0.0.1", "localhost")
CHECKED_CITIZENS = 20
SETTLE_SECONDS = 1.0
SERVICE_PATHS = ("api", "models", "auth", "migrations", "pyproject.toml")
DATA_DIR = RESULTS_DIR / "data"


@dataclass(frozen=True)
class Options:
    citizens: int
    database: Database
    duration: float
    warmup: float
    rounds: int
    connections: int
    threads: int
    workers: list[int]
    targets: set[str]
    profile_seconds: float
    per_slice: int
    reseed: bool
    quiet_wait: float
    scenarios: list[str]
    warm_citizens: int
    heavy_citizens: int
    heavy_samples: int
    # Also our service without the layers PostGraphile has no counterpart of.
    bare: bool = False


@dataclass
class Slice:
    ids: list[str]
    tokens: list[str]
    ids_file: Path
    tokens_file: Path

    def head(self, count: int, out: Path, label: str) -> "Slice":
        """The first count citizens of this slice, in files of their own."""
        ids, tokens = self.ids[:count], self.tokens[:count]
        return Slice(
            ids=ids,
            tokens=tokens,
            ids_file=_write_lines(out / f"citizen-ids-{label}.txt", ids),
            tokens_file=_write_lines(out / f"tokens-{label}.txt", tokens),
        )


@dataclass
class Run:
    options: Options
    out: Path
    citizens: int
    postgres: cpu.Tree
    slices: list[Slice]
    warm_slices: list[Slice]
    heavy_slice: Slice | None
    our_body: Path
    postgraphile_body: Path
    wrk: str = ""
    pgbench: str = ""
    samples: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)

    def measured_slice(self, round_index: int) -> Slice:
        return self.slices[1 + round_index % (len(self.slices) - 1)]

    def scenario_slices(self, scenario: str, round_index: int) -> tuple[Slice, Slice]:
        """The citizens of the warm-up and of the measured run.

        cold: every request for a citizen (and a token) the server has not seen;
        warm: a few citizens opening the app again and again with the same token,
        each within seconds of the last time, after a warm-up on the same citizens;
        heavy: as warm, for the citizens with hundreds of test results each.
        """
        if scenario == "warm":
            chunk = self.warm_slices[round_index % len(self.warm_slices)]
            return chunk, chunk
        if scenario == "heavy":
            assert self.heavy_slice is not None
            return self.heavy_slice, self.heavy_slice
        return self.slices[0], self.measured_slice(round_index)

    @property
    def data_dir(self) -> Path:
        return DATA_DIR


def _write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _mint_tokens(run_data_dir: Path, database: Database, citizen_ids: Sequence[str]) -> list[str]:
    from auth.tokens import TokenIssuer
    from models.config import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=run_data_dir,
        core_database_url=database.url,
        immunization_database_url=database.url,
        testing_database_url=database.url,
        access_token_minutes=1440,
    )
    issuer = TokenIssuer.from_settings(settings)
    return [issuer.issue(uuid.UUID(citizen_id)) for citizen_id in citizen_ids]


def _slices(run: Run, ids: list[str], count: int, with_tokens: bool) -> list[Slice]:
    size = min(run.options.per_slice, max(1, len(ids) // count))
    slices = []
    for index in range(count):
        chunk = ids[index * size : (index + 1) * size] or ids[:size]
        tokens = _mint_tokens(run.data_dir, run.options.database, chunk) if with_tokens else []
        slices.append(
            Slice(
                ids=chunk,
                tokens=tokens,
                ids_file=_write_lines(run.out / f"citizen-ids-{index}.txt", chunk),
                tokens_file=_write_lines(run.out / f"tokens-{index}.txt", tokens),
            )
        )
    return slices


def _bodies(out: Path) -> tuple[Path, Path]:
    ours = out / "body-healthgraph.json"
    ours.write_text(json.dumps({"query": OUR_QUERY.read_text()}))
    theirs = out / "body-postgraphile.json"
    theirs.write_text(
        json.dumps({"query": POSTGRAPHILE_QUERY.read_text(), "variables": {"id": "__CITIZEN_ID__"}})
    )
    return ours, theirs


def _fetch_me(url: str, body: dict[str, Any], token: str | None) -> dict[str, Any] | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = servers.post_json(url, body, headers)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{url} answered HTTP {error.code}") from error
    if answer.get("errors"):
        raise RuntimeError(f"{url} answered with errors: {json.dumps(answer['errors'])[:2000]}")
    me = answer.get("data", {}).get("me")
    return me if isinstance(me, dict) else None


def _sample_answers(run: Run, target: "HttpTarget", url: str) -> None:
    warm = run.slices[0]
    answers: list[dict[str, Any] | None] = []
    for index, citizen_id in enumerate(warm.ids[:CHECKED_CITIZENS]):
        if target.mode == "bearer":
            body: dict[str, Any] = {"query": OUR_QUERY.read_text()}
            answers.append(_fetch_me(url, body, warm.tokens[index]))
        else:
            body = {"query": POSTGRAPHILE_QUERY.read_text(), "variables": {"id": citizen_id}}
            answers.append(_fetch_me(url, body, None))
    if any(answer is None for answer in answers):
        raise RuntimeError(f"{target.name} returned no citizen for some of the sample citizens")
    run.samples[target.name] = answers


def _measurement(
    target: str,
    kind: str,
    round_index: int,
    result: LoadResult,
    use: cpu.CpuUse,
    revision: str = "",
) -> Measurement:
    return Measurement(
        target=target,
        kind=kind,
        round=round_index,
        result=result,
        server_cores=use.by_name.get("server"),
        postgres_cores=use.by_name["postgres"],
        client_cores=result.client_cpu_seconds / use.wall_seconds,
        machine_cores=use.by_name["machine"],
        postgres_backends_started=use.processes_started["postgres"],
        revision=revision,
    )


def _bearer_load(run: Run, url: str, chunk: Slice) -> HttpLoad:
    return HttpLoad(url, run.our_body, chunk.tokens_file, "bearer")


@dataclass(frozen=True)
class HttpTarget:
    name: str
    kind: str
    start: Callable[[Path], AbstractContextManager[servers.Server]]
    mode: str
    scenario: str = "cold"

    def load(self, run: Run, url: str, chunk: Slice) -> HttpLoad:
        if self.mode == "bearer":
            return _bearer_load(run, url, chunk)
        return HttpLoad(url, run.postgraphile_body, chunk.ids_file, "variable")

    def measure(self, run: Run, round_index: int) -> Measurement:
        options = run.options
        log = run.out / f"{self.name.replace(' ', '_').replace('=', '')}-{round_index}.log"
        revision = service_revision() if self.kind == "ours" else ""
        warm_up_slice, measured_slice = run.scenario_slices(self.scenario, round_index)
        with self.start(log) as server:
            if round_index == 0 and self.scenario == "cold":
                try:
                    _sample_answers(run, self, server.url)
                except RuntimeError as error:
                    raise RuntimeError(f"{self.name}: {error} (log: {server.log})") from error
            warm = self.load(run, server.url, warm_up_slice)
            run_wrk(run.wrk, warm, options.connections, options.threads, options.warmup)
            time.sleep(SETTLE_SECONDS)
            measured = self.load(run, server.url, measured_slice)
            trees = {"server": cpu.Tree(server.pid), "postgres": run.postgres}
            with cpu.measure(trees) as use:
                result = run_wrk(
                    run.wrk, measured, options.connections, options.threads, options.duration
                )
        measurement = _measurement(self.name, self.kind, round_index, result, use, revision)
        return replace(measurement, scenario=self.scenario)


@dataclass(frozen=True)
class PgbenchTarget:
    name: str
    load: PgbenchLoad
    kind: str = "pgbench"

    def measure(self, run: Run, round_index: int) -> Measurement:
        options = run.options
        log_dir = run.out / "pgbench-logs"

        def go(seconds: float) -> LoadResult:
            return run_pgbench(
                run.pgbench,
                options.database,
                self.load,
                run.citizens,
                options.connections,
                options.threads,
                seconds,
                log_dir,
            )

        go(options.warmup)
        time.sleep(SETTLE_SECONDS)
        with cpu.measure({"postgres": run.postgres}) as use:
            result = go(options.duration)
        return _measurement(self.name, self.kind, round_index, result, use)


Target = HttpTarget | PgbenchTarget


SCENARIO_SUFFIX = {"cold": "", "warm": ", warm", "heavy": ", heavy history"}


def _targets(run: Run) -> list[Target]:
    options, database = run.options, run.options.database
    found: list[Target] = []
    for scenario in options.scenarios:
        suffix = SCENARIO_SUFFIX[scenario]
        if "ours" in options.targets:
            for workers in options.workers:
                found.append(
                    HttpTarget(
                        f"healthgraph w={workers}{suffix}",
                        "ours",
                        partial(servers.ours, database, run.data_dir, workers),
                        "bearer",
                        scenario,
                    )
                )
        if "ours" in options.targets and options.bare and scenario == "cold":
            found.append(
                HttpTarget(
                    "healthgraph w=1 without log or counting",
                    "ours",
                    partial(servers.ours, database, run.data_dir, 1, layers=False),
                    "bearer",
                    scenario,
                )
            )
        if "postgraphile" in options.targets:
            found.append(
                HttpTarget(
                    f"PostGraphile{suffix}",
                    "postgraphile",
                    partial(servers.postgraphile, database),
                    "variable",
                    scenario,
                )
            )
    if "pgbench" in options.targets:
        found.extend(PgbenchTarget(name, load) for name, load in PGBENCH_LOADS.items())
    return found


def _rotated(targets: list[Target], round_index: int) -> Iterator[Target]:
    shift = round_index % len(targets)
    yield from targets[shift:] + targets[:shift]


def _check_equivalence(run: Run) -> list[str]:
    reference = run.samples.get("PostGraphile")
    notes = []
    for target, answers in run.samples.items():
        if reference is None or target == "PostGraphile":
            continue
        for index, (ours, theirs) in enumerate(zip(answers, reference, strict=True)):
            fields = differences(ours, theirs)
            if fields:
                notes.append(f"{target} vs PostGraphile, citizen #{index}: differs in {fields}")
    return notes


def _profile(run: Run, workers: int) -> str:
    options = run.options
    log = run.out / "profile-server.log"
    with servers.ours(options.database, run.data_dir, workers, log) as server:
        warm = _bearer_load(run, server.url, run.slices[0])
        run_wrk(run.wrk, warm, options.connections, options.threads, options.warmup)
        with ThreadPoolExecutor(max_workers=1) as pool:
            loading = pool.submit(
                run_wrk,
                run.wrk,
                _bearer_load(run, server.url, run.measured_slice(0)),
                options.connections,
                options.threads,
                options.profile_seconds + 2,
            )
            time.sleep(1)
            raw = profiling.record(server.pid, options.profile_seconds, run.out / "profile.txt")
            under_profiler = loading.result()
    summary = profiling.summarise(raw)
    return (
        f"Profiled `healthgraph serve --workers {workers}` (revision {service_revision()}) "
        f"for {options.profile_seconds:g}s "
        f"under the same load ({under_profiler.per_second:,.0f} req/s while sampled).\n\n"
        + profiling.render(summary)
    )


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else ""


def service_revision() -> str:
    """The last commit that changed the service, with a digest of uncommitted changes to it."""
    git = ["git", "-C", str(REPO_DIR)]
    paths = ["--", *SERVICE_PATHS]
    commit = _output([*git, "log", "-1", "--format=%h", "HEAD", *paths])
    diff = subprocess.run(
        [*git, "diff", "HEAD", *paths],
        capture_output=True,
        timeout=30,
        check=False,
    ).stdout
    untracked = _output([*git, "ls-files", "--others", "--exclude-standard", *paths])
    if not diff and not untracked:
        return commit
    digest = hashlib.sha256(diff + untracked.encode()).hexdigest()[:8]
    return f"{commit}+changes-{digest}"


def _versions(run: Run) -> dict[str, str]:
    output = _output
    with open("/proc/cpuinfo") as handle:
        model = next((line.split(":", 1)[1].strip() for line in handle if "model name" in line), "")
    with open("/proc/meminfo") as handle:
        memory_kb = int(handle.readline().split()[1])
    with run.options.database.connect() as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return {
        "cpu": f"{model} ({len(_cpus())} cores)",
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "",
        "node": output([str(node()), "--version"]) if "postgraphile" in run.options.targets else "",
        "wrk": output([run.wrk, "--version"]).split(" [")[0],
        "pgbench": output([run.pgbench, "--version"]),
        "service revision at the end": service_revision(),
    }


def _cpus() -> list[str]:
    with open("/proc/cpuinfo") as handle:
        return [line for line in handle if line.startswith("processor")]


def _header(run: Run, argv: Sequence[str]) -> str:
    options = run.options
    lines = [
        f"Run {run.out.name}: `.venv/bin/python -m bench.dashboard {' '.join(argv)}`".rstrip(),
        "",
        f"- data: {run.citizens:,} citizens in `{options.database.name}`",
        f"- load: {options.connections} connections, {options.threads} load threads, "
        f"{options.warmup:g}s warm-up then {options.duration:g}s measured, "
        f"{options.rounds} interleaved rounds; up to {options.per_slice:,} distinct citizens "
        "per run, a different set each round",
        f"- scenarios: {', '.join(options.scenarios)} (warm: {options.warm_citizens:,} citizens "
        "per run, each asking again with the same token within seconds)",
    ]
    lines += [f"- {name}: {value}" for name, value in _versions(run).items() if value]
    return "\n".join(lines)


def execute(options: Options, argv: Sequence[str]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / stamp
    out.mkdir(parents=True, exist_ok=True)
    ensure_seeded(options.database, options.citizens, DATA_DIR, options.reseed)
    citizens = install_helpers(options.database)
    heavy_ids: list[str] = []
    if "heavy" in options.scenarios:
        heavy = ensure_heavy_history(
            options.database, options.heavy_citizens, options.heavy_samples
        )
        heavy_ids = [str(citizen_id) for citizen_id in heavy]
        heavy_mean, everyone_mean = history_sizes(options.database, heavy)
    pages = prewarm(options.database)
    print(f"{options.database.name}: {pages:,} pages read into the system's cache", flush=True)
    our_body, postgraphile_body = _bodies(out)
    run = Run(
        options=options,
        out=out,
        citizens=citizens,
        postgres=cpu.postgres_for_database(postmaster_pid(options.database), options.database.name),
        slices=[],
        warm_slices=[],
        heavy_slice=None,
        our_body=our_body,
        postgraphile_body=postgraphile_body,
        wrk=wrk(),
        pgbench=pgbench(),
    )
    if "postgraphile" in options.targets:
        node()
    ids = [str(citizen_id) for citizen_id in shuffled_citizen_ids(options.database)]
    print(f"writing citizen lists and tokens ({options.rounds + 1} sets)", flush=True)
    run.slices = _slices(run, ids, options.rounds + 1, "ours" in options.targets)
    run.warm_slices = [
        chunk.head(options.warm_citizens, out, f"warm-{index}")
        for index, chunk in enumerate(run.slices[1:])
    ]
    if heavy_ids:
        run.heavy_slice = Slice(
            ids=heavy_ids,
            tokens=_mint_tokens(run.data_dir, options.database, heavy_ids),
            ids_file=out / "citizen-ids-heavy.txt",
            tokens_file=out / "tokens-heavy.txt",
        )
        _write_lines(run.heavy_slice.ids_file, run.heavy_slice.ids)
        _write_lines(run.heavy_slice.tokens_file, run.heavy_slice.tokens)

    sections = [_header(run, argv)]
    if heavy_ids:
        sections[0] += (
            f"\n- heavy history: {len(heavy_ids):,} citizens with {heavy_mean:.0f} test "
            f"results each on average (everyone: {everyone_mean:.1f})"
        )
    measurements: list[Measurement] = []
    targets = _targets(run)
    for round_index in range(options.rounds):
        this_round = []
        for target in _rotated(targets, round_index):
            print(f"round {round_index + 1}/{options.rounds}: {target.name}", flush=True)
            if options.quiet_wait and not cpu.wait_until_quiet(options.quiet_wait):
                print("  the machine is still busy with other work; measuring anyway", flush=True)
            this_round.append(target.measure(run, round_index))
        this_round.sort(key=lambda m: [t.name for t in targets].index(m.target))
        table = report.round_table(this_round)
        print(f"\nRound {round_index + 1}\n{table}\n", flush=True)
        sections.append(f"### Round {round_index + 1}\n\n{table}")
        measurements.extend(this_round)
        if round_index == 0 and len(run.samples) > 1 and "PostGraphile" in run.samples:
            notes = _check_equivalence(run)
            checked = f"Same answers checked on {CHECKED_CITIZENS} citizens: " + (
                "identical data." if not notes else "\n" + "\n".join(f"- {n}" for n in notes)
            )
            print(checked, flush=True)
            sections.insert(1, checked)

    revisions = report.revisions(measurements)
    if len(revisions) > 1:
        sections.append(
            "The service code changed during this run; its revision per measurement:\n"
            + "\n".join(f"- {line}" for line in revisions)
        )
    noisy = report.interference(measurements)
    if noisy:
        sections.append(
            "Other processes were busy during some runs:\n" + "\n".join(f"- {n}" for n in noisy)
        )
    summaries = report.summarise(measurements)
    sections.append(f"### Medians over {options.rounds} rounds\n\n{report.median_table(summaries)}")
    sections.append(f"### Ratios of medians\n\n{report.ratio_table(summaries)}")
    sections.append(f"### Work per CPU\n\n{report.efficiency_table(summaries)}")
    if options.profile_seconds > 0 and "ours" in options.targets:
        print("profiling the service under load", flush=True)
        sections.append("### Profile\n\n" + _profile(run, options.workers[0]))

    text = "\n\n".join(sections) + "\n"
    (out / "report.md").write_text(text)
    (out / "results.json").write_text(
        json.dumps([m.as_dict() for m in measurements], indent=2, default=str)
    )
    print("\n" + text)
    print(f"written to {out}", flush=True)
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small seed and short runs")
    parser.add_argument("--citizens", type=int, help="seed scale (default 100000; quick 2000)")
    parser.add_argument("--database", help="database name (default healthgraph_bench[_quick])")
    parser.add_argument("--pg-host", default="127.0.0.1", choices=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 20)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk / pgbench threads")
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated worker counts for our service"
    )
    parser.add_argument(
        "--targets",
        default="ours,postgraphile,pgbench",
        help="comma-separated subset of ours, postgraphile, pgbench",
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        help="py-spy profile of our service after the rounds; 0 skips (default 20)",
    )
    parser.add_argument(
        "--per-slice", type=int, default=25000, help="most distinct citizens per run"
    )
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument(
        "--scenarios",
        default="cold,warm,heavy",
        help="comma-separated subset of cold (a new citizen and token on every request), "
        "warm (the same citizens with the same tokens again and again) and heavy (as warm, "
        "for citizens with hundreds of test results each)",
    )
    parser.add_argument(
        "--warm-citizens", type=int, default=1000, help="citizens per warm run (default 1000)"
    )
    parser.add_argument(
        "--heavy-citizens", type=int, default=1000, help="citizens given a heavy history"
    )
    parser.add_argument(
        "--heavy-samples", type=int, default=400, help="test results added to each of them"
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="also run our service with one worker, cold, without the access log and the "
        "request counting (what they cost beside PostGraphile, which has neither)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each run, wait up to this many seconds for other work to stop "
        "(default 120; quick 5); 0 skips",
    )
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    args = _parser().parse_args(argv)
    quick = args.quick

    def pick(value: Any, full: Any, short: Any) -> Any:
        return value if value is not None else (short if quick else full)

    targets = {name.strip() for name in args.targets.split(",") if name.strip()}
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if set(scenarios) - set(SCENARIO_SUFFIX):
        raise SystemExit(f"unknown scenarios: {', '.join(set(scenarios) - set(SCENARIO_SUFFIX))}")
    unknown = targets - {"ours", "postgraphile", "pgbench"}
    if unknown:
        raise SystemExit(f"unknown targets: {', '.join(sorted(unknown))}")
    database = Database(
        host=args.pg_host,
        port=args.pg_port,
        user=args.pg_user,
        name=pick(args.database, "healthgraph_bench", "healthgraph_bench_quick"),
    )
    return Options(
        citizens=pick(args.citizens, 100_000, 2_000),
        database=database,
        duration=pick(args.duration, 20.0, 3.0),
        warmup=pick(args.warmup, 5.0, 1.0),
        rounds=pick(args.rounds, 3, 1),
        connections=args.connections,
        threads=args.threads,
        workers=[int(w) for w in args.workers.split(",") if w.strip()],
        targets=targets,
        profile_seconds=pick(args.profile_seconds, 20.0, 3.0),
        per_slice=args.per_slice,
        reseed=args.reseed,
        quiet_wait=pick(args.quiet_wait, 120.0, 5.0),
        scenarios=scenarios,
        warm_citizens=args.warm_citizens,
        heavy_citizens=args.heavy_citizens,
        heavy_samples=args.heavy_samples,
        bare=args.bare,
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    execute(parse_options(arguments), arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
