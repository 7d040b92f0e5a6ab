"""Measure the dashboard in-process for several revisions of the service, interleaved.

    .venv/bin/python -m bench.revisions c1334cc aac3e50 HEAD --rounds 5

Each revision is checked out into a worktree under bench/results/worktrees;
each round runs every revision once (the order rotates) on different
citizens, and the medians are printed side by side with ratios to the first.
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.tools import BENCH_DIR

REPO = BENCH_DIR.parent
WORKTREES = BENCH_DIR / "results" / "worktrees"


def _worktree(revision: str) -> Path:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = WORKTREES / commit
    if not path.exists():
        WORKTREES.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), commit],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
    return path


def _run(tree: Path, args: argparse.Namespace, offset: int) -> tuple[float, float]:
    command = [
        sys.executable,
        str(BENCH_DIR / "in_process.py"),
        "--url",
        args.url,
        "--requests",
        str(args.requests),
        "--concurrency",
        str(args.concurrency),
        "--offset",
        str(offset),
    ]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    output = subprocess.run(command, env=environment, check=True, capture_output=True, text=True)
    rate, p50 = output.stdout.split()
    return float(rate), float(p50)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("revisions", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/healthgraph_bench")
    args = parser.parse_args()
    trees = {revision: _worktree(revision) for revision in args.revisions}
    results: dict[str, list[tuple[float, float]]] = {revision: [] for revision in trees}
    for round_number in range(args.rounds):
        order = (
            args.revisions[round_number % len(args.revisions) :]
            + args.revisions[: round_number % len(args.revisions)]
        )
        for position, revision in enumerate(order):
            offset = (round_number * len(order) + position) * (args.requests + 64)
            rate, p50 = _run(trees[revision], args, offset)
            results[revision].append((rate, p50))
            print(
                f"round {round_number + 1}: {revision:>10} {rate:7.1f} req/s  p50 {p50:6.1f} ms",
                flush=True,
            )
    first = statistics.median(rate for rate, _ in results[args.revisions[0]])
    print("\n| revision | req/s (median) | p50 ms (median) | ratio to first |\n|---|---|---|---|")
    for revision, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        p50 = statistics.median(p for _, p in runs)
        print(f"| {revision} | {rate:.0f} | {p50:.1f} | {rate / first:.2f} |")


if __name__ == "__main__":
    main()
