"""Sampling profiles of the running service (py-spy), summarised by layer and phase."""

import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.tools import py_spy

# Self time goes to the innermost frame from one of these packages; frames of the
# standard library helpers (contextlib, typing, functools, generated code) are
# skipped over, so their time counts for the layer that called them.
LAYERS: dict[str, str] = {
    "jwt": "JWT and signatures",
    "cryptography": "JWT and signatures",
    "auth": "JWT and signatures",
    "json": "JSON",
    "orjson": "JSON",
    "asyncpg": "asyncpg",
    "sqlalchemy": "SQLAlchemy",
    "sqlmodel": "SQLAlchemy",
    "graphql": "graphql-core (validate, execute)",
    "strawberry": "Strawberry",
    "starlette": "Starlette",
    "uvicorn": "uvicorn and HTTP parsing",
    "h11": "uvicorn and HTTP parsing",
    "httptools": "uvicorn and HTTP parsing",
    "api": "service code",
    "models": "service code",
    "logging": "logging",
    "prometheus_client": "metrics",
    "asyncio": "asyncio event loop",
    "uvloop": "asyncio event loop",
}

# Inclusive: a sample counts for a phase when any frame on its stack matches.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GraphQL parsing", ("graphql/language/parser.py",)),
    ("GraphQL validation", ("graphql/validation/",)),
    ("query depth limiter", ("strawberry/extensions/query_depth_limiter.py",)),
    ("GraphQL execution (resolvers included)", ("graphql/execution/",)),
    ("database access (SQLAlchemy + asyncpg)", ("sqlalchemy/", "asyncpg/")),
    ("JWT verification", ("jwt/", "auth/tokens.py")),
    ("JSON encoding and decoding", ("json/", "orjson")),
    ("logging", ("logging/",)),
)

_LOCATION = re.compile(r"\(([^():]+):\d+\)$")


@dataclass(frozen=True)
class Profile:
    samples: int
    by_layer: list[tuple[str, int]]
    by_phase: list[tuple[str, int]]
    top_self: list[tuple[str, int]]
    raw_file: Path


def record(pid: int, seconds: float, output: Path, rate: int = 200) -> Path:
    """Record collapsed stacks of pid and its subprocesses for `seconds`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(py_spy()),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=seconds + 120)
    return output


def _package(frame: str) -> str | None:
    match = _LOCATION.search(frame)
    if match is None:
        return None
    path = match.group(1)
    if "/site-packages/" in path:
        path = path.split("/site-packages/", 1)[1]
    return path.lstrip("/").split("/", 1)[0].removesuffix(".py")


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        layer = LAYERS.get(_package(frame) or "")
        if layer is not None:
            return layer
    return "other"


def _phases(stack: str) -> Iterable[str]:
    for phase, needles in PHASES:
        if any(needle in stack for needle in needles):
            yield phase


def _collapsed(lines: Iterable[str]) -> Iterable[tuple[str, int]]:
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            yield stack, int(count)


def summarise(raw_file: Path, top: int = 20) -> Profile:
    layers: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    with raw_file.open() as handle:
        for stack, count in _collapsed(handle):
            frames = [frame for frame in stack.split(";") if frame]
            total += count
            layers[_layer(frames)] += count
            for phase in _phases(stack):
                phases[phase] += count
            if frames:
                leaves[frames[-1]] += count
    ordered_phases = [(phase, phases[phase]) for phase, _ in PHASES]
    return Profile(total, layers.most_common(), ordered_phases, leaves.most_common(top), raw_file)


def _share_table(title: str, rows: Iterable[tuple[str, int]], total: int) -> list[str]:
    lines = [f"| {title} | share of samples |", "|---|---|"]
    lines += [f"| {name} | {count / total:.1%} |" for name, count in rows]
    return lines


def render(profile: Profile) -> str:
    total = max(profile.samples, 1)
    lines = [f"{profile.samples} samples, raw stacks in `{profile.raw_file.name}`.", ""]
    lines += _share_table("self time by layer", profile.by_layer, total)
    lines += ["", *_share_table("time inside (inclusive)", profile.by_phase, total)]
    lines += ["", *_share_table("innermost frame", profile.top_self, total)]
    return "\n".join(lines)
