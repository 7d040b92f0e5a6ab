"""Requests are counted per caller and per address in the core store."""

import asyncio
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.schema import schema
from models.ratelimit import RequestCounts, ToWrite
from models.stores import Store

VACCINES = {"query": "{ vaccines { code } }"}


async def test_an_address_at_its_limit_is_answered(client_with):
    async with client_with(address="10.1.0.1", rate_limit_per_address=3) as client:
        statuses = [(await client.post("/graphql", json=VACCINES)).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


async def test_an_address_past_its_limit_is_rate_limited_with_a_retry_after(client_with):
    async with client_with(address="10.1.0.2", rate_limit_per_address=3) as client:
        for _ in range(3):
            await client.post("/graphql", json=VACCINES)
        response = await client.post("/graphql", json=VACCINES)

    assert response.status_code == 429
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60
    assert response.headers["retry-after"] == str(error["extensions"]["retryAfter"])


async def test_a_caller_past_its_limit_is_refused_from_any_address(client_with, given, issuer):
    citizen = await given.citizen()
    headers = {"Authorization": f"Bearer {issuer.issue(citizen)}"}
    async with client_with(address="10.1.0.3", rate_limit_per_token=2) as first:
        statuses = [
            (await first.post("/graphql", json=VACCINES, headers=headers)).status_code
            for _ in range(2)
        ]
    async with client_with(address="10.1.0.4", rate_limit_per_token=2) as second:
        refused = await second.post("/graphql", json=VACCINES, headers=headers)
        anonymous = await second.post("/graphql", json=VACCINES)

    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert anonymous.status_code == 200


async def test_limits_are_shared_by_every_process(settings, store_urls):
    """Two apps (as two processes would) count into the same core store."""
    import httpx

    changed = settings.model_copy(update={"rate_limit_per_address": 2})
    apps = [create_app(changed, store_urls), create_app(changed, store_urls)]
    statuses = []
    for app in apps + apps[:1]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.1.0.5", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
                statuses.append((await client.post("/graphql", json=VACCINES)).status_code)

    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("limit", [0])
async def test_a_limit_of_zero_is_off(client_with, limit):
    async with client_with(address="10.1.0.6", rate_limit_per_address=limit) as client:
        statuses = {(await client.post("/graphql", json=VACCINES)).status_code for _ in range(5)}

    assert statuses == {200}


async def test_requests_well_within_the_limits_all_reach_the_core_store(client_with, engines):
    async with client_with(address="10.1.0.7", rate_limit_per_address=100) as client:
        statuses = {(await client.post("/graphql", json=VACCINES)).status_code for _ in range(7)}
    async with engines[Store.CORE].connect() as core:
        query = sa.text("SELECT hits FROM core.rate_limits WHERE key = 'req:address:10.1.0.7'")
        hits = (await core.execute(query)).scalar_one()

    assert statuses == {200}
    assert hits == 7


async def test_two_processes_counting_in_batches_refuse_past_the_limit_exactly(client_with):
    async with (
        client_with(address="10.1.0.8", rate_limit_per_address=10) as first,
        client_with(address="10.1.0.8", rate_limit_per_address=10) as second,
    ):
        statuses = [
            (await client.post("/graphql", json=VACCINES)).status_code
            for client in [first, second] * 6
        ]

    assert statuses == [200] * 10 + [429] * 2


DASHBOARD = {"query": "{ me { fullName vaccinations { doseNumber } } }"}


async def _token_hits(engines, citizen) -> int:
    async with engines[Store.CORE].connect() as core:
        query = sa.text("SELECT hits FROM core.rate_limits WHERE key = :key")
        return (await core.execute(query, {"key": f"req:citizen:{citizen}"})).scalar_one()


async def _dashboards(
    client_with, token: str, address: str, *, limit: int, times: int
) -> list[httpx.Response]:
    """The dashboard asked `times` times in a row by one citizen, from one address."""
    headers = {"Authorization": f"Bearer {token}"}
    async with client_with(address=address, rate_limit_per_token=limit) as client:
        return [
            await client.post("/graphql", json=DASHBOARD, headers=headers) for _ in range(times)
        ]


async def test_a_dashboard_answered_by_its_plan_is_counted_once_per_request(
    client_with, given, issuer, engines
):
    citizen = await given.citizen(full_name="Đỗ Văn Hải")
    answers = await _dashboards(client_with, issuer.issue(citizen), "10.1.0.9", limit=5, times=5)

    assert schema.plans.known(DASHBOARD["query"]) is not None
    assert [answer.status_code for answer in answers] == [200] * 5
    assert {answer.json()["data"]["me"]["fullName"] for answer in answers} == {"Đỗ Văn Hải"}
    assert await _token_hits(engines, citizen) == 5


async def test_a_dashboard_past_its_limit_is_refused_though_its_plan_read_it(
    client_with, given, issuer, engines
):
    citizen = await given.citizen()
    answers = await _dashboards(client_with, issuer.issue(citizen), "10.1.0.10", limit=3, times=4)

    assert schema.plans.known(DASHBOARD["query"]) is not None
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1].json()
    assert "data" not in refused
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert await _token_hits(engines, citizen) == 4


async def test_a_dashboard_of_a_citizen_no_longer_there_is_counted_once(
    client_with, given, issuer, engines
):
    citizen = await given.citizen()
    headers = {"Authorization": f"Bearer {issuer.issue(citizen)}"}
    async with client_with(address="10.1.0.11", rate_limit_per_token=3) as client:
        await client.post("/graphql", json=DASHBOARD, headers=headers)
        async with engines[Store.CORE].begin() as core:
            await core.execute(sa.text("DELETE FROM core.citizens WHERE id = :id"), {"id": citizen})
        gone = [await client.post("/graphql", json=DASHBOARD, headers=headers) for _ in range(3)]

    assert [answer.status_code for answer in gone][-1] == 429
    assert await _token_hits(engines, citizen) == 4


async def test_a_caller_is_decided_in_the_process_while_its_window_lasts(engines):
    counts = RequestCounts(engines, timedelta(seconds=30), flush_seconds=0.5)
    limits = {"req:address:10.1.0.12": 100}
    await counts.hit(limits)

    await counts.flush()

    assert isinstance(counts.take(limits), dict)


async def test_a_caller_whose_window_ended_is_forgotten_and_read_from_the_store_again(engines):
    counts = RequestCounts(engines, timedelta(seconds=1), flush_seconds=0.5)
    limits = {"req:address:10.1.0.13": 100}
    await counts.hit(limits)
    await asyncio.sleep(1.1)

    await counts.flush()

    assert isinstance(counts.take(limits), ToWrite)
