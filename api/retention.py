"""Keeping check-in partitions current: in every running process, and `healthgraph
retention run` for a timer."""

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from models.config import Settings
from models.retention import RetentionReport, run_retention
from models.stores import Engines, Store, StoreUrls, is_unavailable

log = logging.getLogger("healthgraph.retention")


async def _maintain(core: AsyncEngine, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.check_in_maintenance_seconds)
        try:
            await run_retention(core, settings.check_in_retention_days)
        except Exception as error:
            if not is_unavailable(error):
                log.exception("check-in partition maintenance failed")
            else:
                log.warning("check-in partitions not maintained: the core store is unavailable")


@contextlib.asynccontextmanager
async def keeping_partitions_current(core: AsyncEngine, settings: Settings) -> AsyncIterator[None]:
    """While the app runs, create the months ahead and drop the expired ones periodically."""
    task = asyncio.create_task(_maintain(core, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _print(report: RetentionReport, settings: Settings) -> None:
    if not report.ran:
        print("another process is maintaining the partitions right now: nothing done")
        return
    print(f"retention: {settings.check_in_retention_days} days")
    print(f"created: {', '.join(report.created) or 'none'}")
    print(f"dropped: {', '.join(report.dropped) or 'none'}")
    print(f"offline scan IDs forgotten: {report.scans_forgotten}")


def cmd_run(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    async def run() -> RetentionReport:
        engines = Engines(urls, settings)
        try:
            return await run_retention(engines[Store.CORE], settings.check_in_retention_days)
        finally:
            await engines.dispose()

    _print(asyncio.run(run()), settings)
    return 0


def add_retention_commands(
    commands: Any, run: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    retention = commands.add_parser("retention", help="check-in retention")
    actions = retention.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "run", help="drop the expired monthly check-in partitions, create the ones ahead"
    ).set_defaults(run=run(cmd_run))
