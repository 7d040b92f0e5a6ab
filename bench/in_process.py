"""Drive the dashboard through the ASGI app in this process and print one figure.

Run with PYTHONPATH pointing at a checkout of the service to measure that
revision; `bench.revisions` does so for several revisions side by side.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.app import create_app
from auth.tokens import TokenIssuer
from models.config import Settings
from models.stores import Store, StoreUrls

QUERY = (Path(__file__).parent / "dashboard.graphql").read_text()


async def _citizens(app: object, count: int, offset: int) -> list[object]:
    engines = app.state.services.engines  # type: ignore[attr-defined]
    async with engines[Store.CORE].connect() as core:
        query = sa.text("SELECT id FROM core.citizens ORDER BY id LIMIT :n OFFSET :o")
        return [row[0] for row in (await core.execute(query, {"n": count, "o": offset})).all()]


async def measure(
    url: str, requests: int, concurrency: int, offset: int, count_requests: bool = True
) -> tuple[float, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="healthgraph-bench-"))
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        core_database_url=url,
        immunization_database_url=url,
        testing_database_url=url,
        access_token_minutes=600,
        # All the load comes from one address; the per-token counting stays on
        # unless --no-rate-limits measures what it costs.
        rate_limit_per_address=0,
        rate_limit_per_token=600 if count_requests else 0,
    )
    app = create_app(settings, StoreUrls(url, url, url))
    issuer = TokenIssuer.from_settings(settings)
    async with app.router.lifespan_context(app):
        tokens = [issuer.issue(i) for i in await _citizens(app, requests + 64, offset)]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            latencies: list[float] = []
            gate = asyncio.Semaphore(concurrency)

            async def one(token: str) -> None:
                async with gate:
                    started = time.perf_counter()
                    response = await http.post(
                        "/graphql",
                        json={"query": QUERY},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    latencies.append(time.perf_counter() - started)
                    body = response.json()
                    if response.status_code != 200 or "errors" in body:
                        raise RuntimeError(f"dashboard failed: {response.text[:300]}")

            await asyncio.gather(*(one(t) for t in tokens[:64]))
            latencies.clear()
            started = time.perf_counter()
            await asyncio.gather(*(one(t) for t in tokens[64:]))
            elapsed = time.perf_counter() - started
    return requests / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/healthgraph_bench")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--offset", type=int, default=0, help="skip this many citizens")
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="do not count requests per token"
    )
    args = parser.parse_args()
    rate, p50 = asyncio.run(
        measure(args.url, args.requests, args.concurrency, args.offset, not args.no_rate_limits)
    )
    print(f"{rate:.1f} {p50:.2f}")


if __name__ == "__main__":
    main()
