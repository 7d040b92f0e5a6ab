"""The garbage collector's passes while the app in this process answers cold dashboards.

Drives the dashboard through the ASGI app (16 at a time, every request a citizen and
a token the process has not seen, each from an address of its own) and prints, per
generation, how many collections ran, their total and their longest time. A full
(generation 2) pass stops every request in flight; what the process keeps per caller
decides how long it takes.

    .venv/bin/python -m bench.gc_pauses --url postgresql://postgres@127.0.0.1:5432/healthgraph_bench
"""

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from api.app import create_app
from auth.tokens import TokenIssuer
from models.config import Settings
from models.stores import Store, StoreUrls

QUERY = (Path(__file__).parent / "dashboard.graphql").read_text()


class Passes:
    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.times[info["generation"]].append(time.perf_counter() - self._started)


async def measure(url: str, requests: int, offset: int) -> Passes:
    settings = Settings(
        _env_file=None,
        data_dir=Path(tempfile.mkdtemp(prefix="healthgraph-bench-")),
        core_database_url=url,
        immunization_database_url=url,
        testing_database_url=url,
        access_token_minutes=600,
        trusted_proxies=["127.0.0.1"],
        access_log=False,
    )
    app = create_app(settings, StoreUrls(url, url, url))
    issuer = TokenIssuer.from_settings(settings)
    passes = Passes()
    async with app.router.lifespan_context(app):
        async with app.state.services.engines[Store.CORE].connect() as core:
            query = sa.text("SELECT id FROM core.citizens ORDER BY id LIMIT :n OFFSET :o")
            ids = [row[0] for row in await core.execute(query, {"n": requests, "o": offset})]
        tokens = iter(enumerate(issuer.issue(citizen) for citizen in ids))
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def one_at_a_time() -> None:
                for n, token in tokens:
                    address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
                    response = await http.post(
                        "/graphql",
                        json={"query": QUERY},
                        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": address},
                    )
                    if response.status_code != 200:
                        raise RuntimeError(f"dashboard failed: {response.text[:300]}")

            gc.callbacks.append(passes)
            try:
                await asyncio.gather(*(one_at_a_time() for _ in range(16)))
            finally:
                gc.callbacks.remove(passes)
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/healthgraph_bench")
    parser.add_argument("--requests", type=int, default=12000)
    parser.add_argument("--offset", type=int, default=30000, help="skip this many citizens")
    args = parser.parse_args()
    passes = asyncio.run(measure(args.url, args.requests, args.offset))
    print(f"{args.requests} cold dashboards")
    print("| generation | passes | total ms | longest ms |")
    print("|---|---|---|---|")
    for generation, times in passes.times.items():
        longest = max(times, default=0.0) * 1000
        print(f"| {generation} | {len(times)} | {sum(times) * 1000:.0f} | {longest:.1f} |")


if __name__ == "__main__":
    main()
