"""The Dockerfile's build and start, run here the way the image runs them.

With no container engine on the machine, the test reads the Dockerfile and plays
it: each stage's WORKDIR, COPY and ENV under a temporary root standing for the
image's /, each RUN in a shell there (the Node stage's `npm ci` included), with a
fresh virtualenv's `python` as the image's; only the system set-up (apt packages,
the service user and its data folder) is left to the image. Then `healthgraph
migrate` and the CMD itself, which must answer /healthz (its HEALTHCHECK) and
serve GraphiQL's assets from where the image copies them.
"""

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models.stores import StoreUrls

REPO = Path(__file__).resolve().parent.parent
# System set-up, done by the image as root: not replayed on this machine (the data
# folder is made below instead).
_SYSTEM = ("apt-get ", "groupadd ", "useradd ", "mkdir -p /app/data && chown ")


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def read_dockerfile(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            words = arguments.split()
            stages.append(Stage(words[0], words[2] if len(words) == 3 else None))
        else:
            stages[-1].instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return stages


def _env_pairs(arguments: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(arguments))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Image:
    """A temporary root standing for the image's file system."""

    def __init__(self, root: Path, context: Path, python: Path) -> None:
        self.root = root
        self.context = context
        self.python = python
        self.env: dict[str, str] = {}
        self.cmd: list[str] = []
        self.healthcheck: list[str] = []
        self.stages: dict[str, Path] = {}
        self.plan: list[Stage] = []

    def inside(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def rewrite(self, value: str) -> str:
        """An image path in a value (an ENV, say) as a path under the root."""
        return ",".join(
            str(self.inside(part)) if part.startswith("/") else part for part in value.split(",")
        )

    def shell_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HEALTHGRAPH"))}
        env.update(self.env)
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env['PATH']}"
        # The image keeps no pip cache; here the downloads may come from the machine's.
        env.pop("PIP_NO_CACHE_DIR", None)
        return env

    def play(self, stage: Stage, stage_root: Path) -> None:
        workdir = stage_root
        for step in stage.instructions:
            if step.keyword == "WORKDIR":
                workdir = stage_root / step.arguments.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            elif step.keyword == "ENV":
                self.env.update({k: self.rewrite(v) for k, v in _env_pairs(step.arguments).items()})
            elif step.keyword == "COPY":
                self._copy(step.arguments, workdir)
            elif step.keyword == "RUN":
                if step.arguments.startswith(_SYSTEM):
                    continue
                subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", step.arguments],
                    cwd=workdir,
                    env=self.shell_env(),
                    check=True,
                    timeout=900,
                )
            elif step.keyword == "CMD":
                self.cmd = _exec_form(step.arguments)
            elif step.keyword == "HEALTHCHECK":
                self.healthcheck = _exec_form(step.arguments.split(" CMD ", 1)[1])
            else:
                assert step.keyword in {"USER", "EXPOSE"}, f"unknown instruction {step.keyword}"
        if stage.name is not None:
            self.stages[stage.name] = stage_root

    def _copy(self, arguments: str, workdir: Path) -> None:
        words = arguments.split()
        source_root = self.context
        if words[0].startswith("--from="):
            source_root = self.stages[words[0].removeprefix("--from=")]
            words = words[1:]
        *sources, target = words
        destination = workdir / target if not target.startswith("/") else self.inside(target)
        for source in sources:
            found = source_root / source.lstrip("/")
            assert found.exists(), f"COPY {source}: not in the build context"
            into = destination / found.name if target.endswith("/") else destination
            if found.is_dir():
                into.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-a", f"{found}/.", str(into)], check=True)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-a", str(found), str(into)], check=True)


def _exec_form(arguments: str) -> list[str]:
    words = json.loads(arguments)
    assert isinstance(words, list), "CMD and HEALTHCHECK in exec form"
    return [str(word) for word in words]


def _build_context(repo_root: Path, into: Path) -> Path:
    """The files `docker build .` would send: the repository's, without what it ignores."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo_root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = repo_root / name.decode()
        if source.is_symlink() or not source.is_file():
            continue
        target = into / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    return into


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    base = tmp_path_factory.mktemp("image")
    context = _build_context(REPO, base / "context")
    venv = base / "root" / "venv"
    # The image's python, as a fresh interpreter with nothing installed.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    built = Image(base / "root", context, venv / "bin" / "python")
    stages = built.plan = read_dockerfile(REPO / "Dockerfile")
    for number, stage in enumerate(stages):
        root = built.root if number == len(stages) - 1 else base / f"stage-{number}"
        built.play(stage, root)
    return built


def test_this_machine_has_the_node_and_python_the_image_is_built_from(image: Image) -> None:
    bases = {stage.base.split(":")[0]: stage.base.split(":")[1] for stage in image.plan}
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    python = subprocess.run(
        [str(image.python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert node.stdout.strip().lstrip("v").split(".")[0] == bases["node"].split("-")[0]
    assert python.stdout.strip() == bases["python"].split("-")[0]


def test_the_image_installs_the_project_itself_not_an_editable_link(image: Image) -> None:
    shown = subprocess.run(
        [str(image.python), "-c", "import api; print(api.__file__)"],
        env={**image.shell_env(), "PYTHONSAFEPATH": "1"},
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert shown.startswith(str(image.python.parent.parent)), shown


def test_the_images_cmd_migrates_serves_healthz_and_graphiql(
    image: Image, store_urls: StoreUrls
) -> None:
    port = _free_port()
    env = {
        **image.shell_env(),
        "HEALTHGRAPH_CORE_DATABASE_URL": store_urls.core,
        "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL": store_urls.immunization,
        "HEALTHGRAPH_TESTING_DATABASE_URL": store_urls.testing,
    }
    workdir = image.inside("/app")
    Path(env["HEALTHGRAPH_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(["healthgraph", "migrate"], cwd=workdir, env=env, check=True, timeout=300)
    command = [str(port) if word == "8000" else word for word in image.cmd]
    assert command[:2] == ["healthgraph", "serve"]
    server = subprocess.Popen(command, cwd=workdir, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "no answer on /healthz"
                time.sleep(0.5)
        check = [word.replace(":8000/", f":{port}/") for word in image.healthcheck]
        health = subprocess.run(check, cwd=workdir, env=env, timeout=30)
        with urllib.request.urlopen(f"{base}/graphiql/graphiql/graphiql.min.js") as asset:
            served = asset.read()
    finally:
        server.terminate()
        server.wait(timeout=60)

    assert health.returncode == 0
    assert len(served) > 100_000
