"""The programs the benchmark drives, installed on first use."""

import glob
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
NODE = BENCH_DIR / "node_modules" / ".bin" / "node"
VENV_BIN = Path(sys.executable).parent

_apt_updated = False


def _run(command: list[str], cwd: Path | None = None) -> None:
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def _apt_install(package: str) -> None:
    global _apt_updated
    if not _apt_updated:
        _run(["apt-get", "update", "-q"])
        _apt_updated = True
    _run(["apt-get", "install", "-y", "-q", package])


def wrk() -> str:
    if shutil.which("wrk") is None:
        _apt_install("wrk")
    return _require("wrk")


def pgbench() -> str:
    found = shutil.which("pgbench") or _newest(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if found is None:
        _apt_install("postgresql-contrib")
        found = shutil.which("pgbench") or _newest(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if found is None:
        raise RuntimeError("pgbench not found after installing postgresql-contrib")
    return found


def node() -> Path:
    """Node 22 from the npm package node@22, with PostGraphile beside it."""
    if not NODE.exists() or not (BENCH_DIR / "node_modules" / "postgraphile").is_dir():
        _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH_DIR)
    if not NODE.exists():
        raise RuntimeError(f"{NODE} is missing after npm ci")
    return NODE


def py_spy() -> Path:
    path = VENV_BIN / "py-spy"
    if not path.exists():
        _run([sys.executable, "-m", "pip", "install", "-q", "py-spy"])
    return path


def healthgraph() -> Path:
    path = VENV_BIN / "healthgraph"
    if not path.exists():
        raise RuntimeError(f"{path} not found: install the project into {VENV_BIN.parent}")
    return path


def _require(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found")
    return found


def _newest(paths: list[str]) -> str | None:
    return sorted(paths)[-1] if paths else None
