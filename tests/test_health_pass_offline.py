"""The README's offline check, run exactly as printed, against passes this service issued."""

import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auth.health_pass import PassContent
from models.health_status import Colour
from tests.test_health_pass import REVOKE, health_pass, payload, vaccinated_citizen, with_payload

DAY = timedelta(days=1)


def readme_snippet(repo_root: Path) -> str:
    readme = (repo_root / "README.md").read_text()
    section = readme.split("#### Checking a pass offline", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README shows no offline check"
    return found.group(1)


async def offline_check(client, workdir: Path, snippet: str, token: str) -> str:
    """Refresh the scanner's cached copies, then check the pass with the network gone."""
    (workdir / "jwks.json").write_text((await client.get("/.well-known/jwks.json")).text)
    (workdir / "revoked-passes").write_text((await client.get("/.well-known/revoked-passes")).text)
    done = subprocess.run(
        [sys.executable, "-c", snippet, token],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


async def test_the_readme_snippet_checks_passes_offline(
    graphql, given, client, issuer, repo_root, tmp_path
):
    snippet = readme_snippet(repo_root)
    citizen = await vaccinated_citizen(given)
    shown = await health_pass(graphql, citizen)
    tampered = with_payload(shown["credential"], {**payload(shown["credential"]), "col": "RED"})

    valid = await offline_check(client, tmp_path, snippet, shown["credential"])
    forged = await offline_check(client, tmp_path, snippet, tampered)
    access_token = await offline_check(client, tmp_path, snippet, issuer.issue(citizen))
    await graphql.query(REVOKE, {"id": shown["passId"]}, as_citizen=citizen)
    revoked = await offline_check(client, tmp_path, snippet, shown["credential"])

    assert valid == "VALID GREEN NVA 1990"
    assert forged == "FORGED"
    assert access_token == "FORGED"
    assert revoked == "REVOKED"


async def test_the_readme_snippet_says_expired(client, pass_issuer, repo_root, tmp_path):
    from datetime import timedelta

    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    old = pass_issuer.sign(
        PassContent(
            uuid.uuid4(), Colour.GREEN, "NVA", 1990, None, issued, issued + timedelta(days=1)
        )
    )

    assert await offline_check(client, tmp_path, readme_snippet(repo_root), old) == "EXPIRED"
