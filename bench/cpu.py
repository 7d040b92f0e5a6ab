"""CPU time of process trees and of the whole machine, sampled from /proc.

A sampler thread reads every process of each tree ten times a second, so
that processes which start during a run (PostgreSQL backends, workers) count
from their first tick, and a filter on the command line can keep, say, only
PostgreSQL's processes for one database.
"""

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
INTERVAL = 0.1


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _cpu_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(root: int, children: Mapping[int, list[int]]) -> list[int]:
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


@dataclass(frozen=True)
class Tree:
    """A process and its descendants; `accept` filters them by command line.

    `accept` may answer None while a process has not yet shown what it is
    (a new PostgreSQL backend, before it names its database); it is asked
    again at the next sample, and a process that exits undecided counts.
    """

    root: int
    accept: Callable[[str], bool | None] | None = None


def postgres_for_database(postmaster: int, database: str) -> Tree:
    """The postmaster, its background processes, and the backends of one database."""

    def accept(command_line: str) -> bool | None:
        if not command_line.startswith("postgres:"):
            return None
        is_backend = "(" in command_line or "[local]" in command_line
        return not is_backend or f" {database} " in f" {command_line} "

    return Tree(postmaster, accept)


@dataclass
class _Process:
    parent: int
    accepted: bool | None
    first: int | None
    last: int
    alive: bool = True


def _reaped_ticks(pid: int) -> int:
    """CPU time of the children that pid has waited for (cutime + cstime)."""
    fields = _stat_fields(pid)
    return 0 if fields is None else int(fields[13]) + int(fields[14])


class _TreeTicks:
    """CPU ticks a tree used between the first and the last sample.

    Live processes count from their first sample (or from birth); children of
    the root that exit count exactly, through the root's reaped-children time,
    so a short-lived PostgreSQL backend is not lost between two samples.
    """

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.processes: dict[int, _Process] = {}
        self.reaped_first = _reaped_ticks(tree.root)
        self.reaped_last = self.reaped_first

    def sample(self, children: Mapping[int, list[int]], baseline: bool) -> None:
        present = set()
        parents = {child: pid for pid, kids in children.items() for child in kids}
        for pid in _tree(self.tree.root, children):
            value = _cpu_ticks(pid)
            if value is None:
                continue
            present.add(pid)
            known = self.processes.get(pid)
            if known is None:
                first = value if baseline else None
                accepted = self._accept(pid)
                self.processes[pid] = _Process(parents.get(pid, 0), accepted, first, value)
            else:
                known.last = value
                if known.accepted is None:
                    known.accepted = self._accept(pid)
        for pid, process in self.processes.items():
            process.alive = pid in present
        self.reaped_last = _reaped_ticks(self.tree.root)

    def _accept(self, pid: int) -> bool | None:
        if pid == self.tree.root or self.tree.accept is None:
            return True
        return self.tree.accept(_command_line(pid))

    def total(self) -> int:
        total = self.reaped_last - self.reaped_first
        for process in self.processes.values():
            first = process.first or 0
            counted = process.accepted is not False
            if process.alive or process.parent != self.tree.root:
                total += process.last - first if counted else 0
            else:
                total -= first if counted else process.last
        return total

    def started(self) -> int:
        return sum(
            1 for p in self.processes.values() if p.first is None and p.accepted is not False
        )


class _Sampler:
    def __init__(self, trees: Mapping[str, Tree]) -> None:
        self.ticks = {name: _TreeTicks(tree) for name, tree in trees.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self, baseline: bool = False) -> None:
        children = _children()
        for ticks in self.ticks.values():
            ticks.sample(children, baseline)

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def start(self) -> None:
        self.sample(baseline=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent on anything but idle and I/O wait, all cores."""
    with open("/proc/stat") as handle:
        values = [int(value) for value in handle.readline().split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICK


@dataclass
class CpuUse:
    """Cores used (1.0 = one core fully busy) during a measured window."""

    wall_seconds: float = 0.0
    by_name: dict[str, float] = field(default_factory=dict)
    processes_started: dict[str, int] = field(default_factory=dict)


@contextmanager
def measure(trees: Mapping[str, Tree]) -> Iterator[CpuUse]:
    """Measure the named process trees and the whole machine over the with-block."""
    use = CpuUse()
    sampler = _Sampler(trees)
    sampler.start()
    start_machine = machine_busy_seconds()
    started = time.monotonic()
    try:
        yield use
    finally:
        sampler.stop()
        use.wall_seconds = time.monotonic() - started
        for name, ticks in sampler.ticks.items():
            use.by_name[name] = ticks.total() / _TICK / use.wall_seconds
            use.processes_started[name] = ticks.started()
        busy = machine_busy_seconds() - start_machine
        use.by_name["machine"] = busy / use.wall_seconds


def wait_until_quiet(timeout: float, busy_limit: float = 0.25, window: float = 2.0) -> bool:
    """Wait (at most `timeout` seconds) until the machine is nearly idle over `window`."""
    deadline = time.monotonic() + timeout
    while True:
        before = machine_busy_seconds()
        time.sleep(window)
        if (machine_busy_seconds() - before) / window <= busy_limit:
            return True
        if time.monotonic() >= deadline:
            return False
