"""`healthgraph import immunization|testing FILE`: bring a platform's export in.

Prints a progress bar while it runs (to standard error) and a summary at the
end; refused lines go to FILE's name + `.rejects.csv`, beside it.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from models.config import Settings
from models.health_status import PassRules
from models.record_files import FileProblem, Table
from models.record_import import DEFAULT_BATCH, KINDS, ImportSummary, import_file
from models.records import Outcome
from models.stores import Engines, StoreUrls


async def _import(
    args: argparse.Namespace, urls: StoreUrls, settings: Settings, progress: Progress
) -> ImportSummary:
    # Batches of thousands of records take longer than a request's statement timeout.
    engines = Engines(urls, settings.model_copy(update={"store_statement_timeout": 600.0}))
    task = progress.add_task(f"importing {args.file.name}", total=None)

    def on_table(table: Table) -> None:
        progress.update(task, total=table.total)

    def on_progress(done: int) -> None:
        progress.update(task, completed=done)

    try:
        return await import_file(
            engines,
            KINDS[args.kind],
            args.file,
            source_system=args.source,
            batch_size=args.batch_size,
            on_table=on_table,
            on_progress=on_progress,
            pass_rules=PassRules.from_settings(settings),
        )
    finally:
        await engines.dispose()


def describe(summary: ImportSummary) -> str:
    counts = ", ".join(
        f"{summary.count(outcome)} {outcome.value.lower()}"
        for outcome in (Outcome.INSERTED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.STALE)
    )
    text = (
        f"{counts}, {summary.rejected} rejected; "
        f"{summary.written.linked} linked, {summary.written.queued} queued for reconciliation"
    )
    if summary.reject_file is not None:
        text += f"\nrejected lines and why: {summary.reject_file}"
    return text


def cmd_import(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=args.quiet or not sys.stderr.isatty(),
    )
    try:
        with progress:
            summary = asyncio.run(_import(args, urls, settings, progress))
    except FileProblem as problem:
        print(f"healthgraph import: {problem}; nothing was imported", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "healthgraph import: interrupted; what was written stays, and running the same "
            "import again finishes it",
            file=sys.stderr,
        )
        return 130
    print(describe(summary))
    return 0


def add_import_commands(
    commands: Any, run: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    """Register `import immunization|testing FILE` (columns: see the README)."""
    parser = commands.add_parser(
        "import", help="import a vaccination or testing platform's export (CSV or workbook)"
    )
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("file", type=Path, help="a .csv file (UTF-8) or an Excel workbook")
    parser.add_argument(
        "--source",
        help="the source system the records come from "
        f"(default: {', '.join(f'{k.default_source} for {n}' for n, k in KINDS.items())})",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run(cmd_import))
