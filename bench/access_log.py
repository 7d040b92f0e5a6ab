"""What one request's access-log line costs, for several revisions side by side.

    .venv/bin/python -m bench.access_log 56e972a HEAD --rounds 5
    .venv/bin/python -m bench.access_log 56e972a HEAD --stream pipe

Each revision runs in its own process (a worktree under bench/results/worktrees, as
bench.revisions does), one after the other in an order that rotates every round. A run
configures logging as the service does (`log_config`: its formatter and its handler on
stderr, which goes to a file or, with `--stream pipe`, to a pipe this process reads),
then times with timeit the middleware's `_record` for one finished dashboard request
with the access log on and off (the metrics call stubbed out in both): the difference is
the line, made, formatted and written. The figures are medians of the rounds' medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

from bench.revisions import _worktree


def _measure(number: int, repeat: int) -> dict[str, float]:
    """In the child: microseconds for _record with the line and without it."""
    import logging.config

    from api import observe
    from api.logs import log_config
    from api.observe import Observed, ObserveRequests

    logging.config.dictConfig(log_config("INFO"))
    observe.observe_request = lambda *args, **kwargs: None  # type: ignore[assignment]
    scope = {"type": "http", "method": "POST", "path": "/graphql"}
    observed = Observed(
        "5f0c6d7e8a9b4c1d2e3f405162738495",
        principal="citizen",
        operation="Dashboard",
        operation_type="query",
    )

    def median_us(middleware: ObserveRequests) -> float:
        def one() -> None:
            middleware._record(scope, observed, 200, 0.00123, None)

        times = timeit.repeat(one, number=number, repeat=repeat)
        return statistics.median(times) / number * 1e6

    with_line = median_us(ObserveRequests(None, access_log=True))  # type: ignore[arg-type]
    without = median_us(ObserveRequests(None, access_log=False))  # type: ignore[arg-type]
    logging.shutdown()
    return {"with": with_line, "without": without}


def _run(tree: Path, args: argparse.Namespace, log: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.access_log", "--child"]
    command += ["--number", str(args.number), "--repeat", str(args.repeat)]
    # The child's own bench package, with this one's measuring code.
    environment = {**os.environ, "PYTHONPATH": f"{Path(__file__).parent.parent}:{tree}"}
    environment["HEALTHGRAPH_MEASURED_TREE"] = str(tree)
    if args.stream == "pipe":
        child = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = child.communicate()
        lines = err.count(b"\n")
    else:
        with log.open("wb") as stderr:
            child = subprocess.Popen(
                command, env=environment, stdout=subprocess.PIPE, stderr=stderr
            )
            out, _ = child.communicate()
        lines = sum(1 for _ in log.open("rb"))
    if child.returncode != 0:
        raise RuntimeError(f"the run failed: {log.read_text()[-2000:]}")
    return {**json.loads(out), "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("revisions", nargs="*", default=["HEAD"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per run (median)")
    parser.add_argument("--stream", choices=("file", "pipe"), default="file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # The measured revision's code, not this checkout's.
        sys.path.insert(0, os.environ["HEALTHGRAPH_MEASURED_TREE"])
        print(json.dumps(_measure(args.number, args.repeat)))
        return
    trees = {revision: _worktree(revision) for revision in args.revisions}
    runs: dict[str, list[dict[str, float]]] = {revision: [] for revision in trees}
    log = Path(tempfile.mkdtemp(prefix="healthgraph-access-log-")) / "stderr.log"
    print(f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    for number in range(args.rounds):
        order = args.revisions[number % len(args.revisions) :]
        order += args.revisions[: number % len(args.revisions)]
        for revision in order:
            run = _run(trees[revision], args, log)
            runs[revision].append(run)
            print(
                f"round {number + 1} {revision:>10}: with the line {run['with']:6.2f} us, "
                f"without {run['without']:5.2f} us, {run['lines']} lines written",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.2f} at the end\n")
    first = None
    print("| revision | _record with the line, us | without, us | the line, us | ratio |")
    print("|---|---|---|---|---|")
    for revision, own in runs.items():
        with_line = statistics.median(r["with"] for r in own)
        without = statistics.median(r["without"] for r in own)
        line = statistics.median(r["with"] - r["without"] for r in own)
        first = first or line
        print(f"| {revision} | {with_line:.2f} | {without:.2f} | {line:.2f} | {line / first:.2f} |")


if __name__ == "__main__":
    main()
