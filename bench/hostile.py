"""What a hostile document costs before it is refused: unlimited parsing and validation
(graphql-core's rules plus the depth and alias rules, as before the limits) beside the
service's document limits, side by side in one run, CPU seconds per document.

    .venv/bin/python -m bench.hostile --rounds 3

No database is needed: every document here is refused before execution. (The issue's
300,000-alias document, 5.9 MB, never reaches the parser: the body limit refuses it.)
"""

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Callable

from graphql import parse, specified_rules, validate
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from api.schema import schema

_UNLIMITED_RULES = (
    *specified_rules,
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
)


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"


def _operations(count: int) -> str:
    return " ".join(f"query Q{n} {{ me {{ vaccinations {{ id }} }} }}" for n in range(count))


DOCUMENTS: dict[str, str] = {
    "12,000 aliases (the largest body the service reads)": _aliases(12_000),
    "1,000 operations": _operations(1_000),
    "300 operations": _operations(300),
}


def _unlimited(document: str) -> None:
    validate(schema._schema, parse(document), _UNLIMITED_RULES)


_LOOP = asyncio.new_event_loop()


def _limited(document: str) -> None:
    result = _LOOP.run_until_complete(schema.execute(document, operation_name="Q0"))
    assert result.errors, "a hostile document must be refused"


def _cpu(run: Callable[[str], None], document: str) -> float:
    started = time.process_time()
    run(document)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    figures: dict[str, dict[str, list[float]]] = {
        name: {"unlimited": [], "limited": []} for name in DOCUMENTS
    }
    for round_number in range(args.rounds):
        for name, document in DOCUMENTS.items():
            runs = [("unlimited", _unlimited), ("limited", _limited)]
            if round_number % 2:
                runs.reverse()
            for label, run in runs:
                figures[name][label].append(_cpu(run, document))
        print(f"round {round_number + 1} done", flush=True)
    print("\n| document | size | unlimited CPU s (median) | limited CPU s (median) | ratio |")
    print("|---|---|---|---|---|")
    for name, document in DOCUMENTS.items():
        unlimited = statistics.median(figures[name]["unlimited"])
        limited = statistics.median(figures[name]["limited"])
        print(
            f"| {name} | {len(document) / 1024:,.0f} KB | {unlimited:.3f} | {limited:.4f} "
            f"| {unlimited / limited:,.0f}x |"
        )


if __name__ == "__main__":
    main()
