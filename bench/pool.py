"""What borrowing a connection costs: asyncpg's pool, the plain pool compiled plans use
(models/plain_pool.py) and one connection held throughout, side by side.

Each use borrows a connection, runs `SELECT 1` and gives it back; the figure is this
process's CPU time per use (the client side only), median over the rounds, each
round running the three in turn.

    .venv/bin/python -m bench.pool --url postgresql://postgres@127.0.0.1:5432/postgres
"""

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop

from models.plain_pool import PlainPool


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


async def _cpu_per_use(use: Callable[[], Awaitable[None]], uses: int) -> float:
    started = time.process_time()
    for _ in range(uses):
        await use()
    return (time.process_time() - started) / uses * 1e6


async def measure(url: str, rounds: int, uses: int) -> dict[str, list[float]]:
    # As the service had it: asyncpg's pool without its reset round trip.
    theirs = await asyncpg.create_pool(url, min_size=1, max_size=2, reset=_nothing_to_reset)
    ours = PlainPool(lambda: asyncpg.connect(url), size=2)
    held = await asyncpg.connect(url)

    async def asyncpg_pool() -> None:
        async with theirs.acquire() as connection:
            await connection.fetchrow("SELECT 1")

    async def plain_pool() -> None:
        connection = await ours.acquire()
        try:
            await connection.fetchrow("SELECT 1")
        finally:
            ours.release(connection)

    async def one_connection() -> None:
        await held.fetchrow("SELECT 1")

    uses_of = {
        "asyncpg pool": asyncpg_pool,
        "plain pool": plain_pool,
        "one connection": one_connection,
    }
    figures: dict[str, list[float]] = {name: [] for name in uses_of}
    try:
        for use in uses_of.values():  # warm-up
            await _cpu_per_use(use, 200)
        for _ in range(rounds):
            for name, use in uses_of.items():
                figures[name].append(await _cpu_per_use(use, uses))
    finally:
        await theirs.close()
        await ours.close()
        await held.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--uses", type=int, default=4000)
    args = parser.parse_args()
    figures = uvloop.run(measure(args.url, args.rounds, args.uses))
    base = statistics.median(figures["one connection"])
    print("| borrowing | CPU µs per use (median) | rounds | beyond one connection |")
    print("|---|---|---|---|")
    for name, values in figures.items():
        median = statistics.median(values)
        rounds = " ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {median:.1f} | {rounds} | {median - base:+.1f} |")


if __name__ == "__main__":
    main()
