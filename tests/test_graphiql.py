"""GraphiQL works with no internet: a real Chromium, every outside request blocked."""

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Route, async_playwright

from api.graphiql import ASSETS
from tests.test_introspection import PRODUCTION

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DASHBOARD = (Path(__file__).resolve().parent.parent / "bench" / "dashboard.graphql").read_text()


async def test_every_asset_the_page_loads_is_served_by_the_service(client):
    page = (await client.get("/graphql", headers={"Accept": "text/html"})).text

    for asset in ASSETS:
        assert f'"/graphiql/{asset}"' in page
        response = await client.get(f"/graphiql/{asset}")
        assert response.status_code == 200, asset
    assert "https://" not in page.replace("https://app", "")


async def test_nothing_else_of_the_installed_packages_is_served(client):
    response = await client.get("/graphiql/react/package.json")

    assert response.status_code == 404


async def test_graphiql_is_served_in_development(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    asset = await client.get("/graphiql/graphiql/graphiql.min.js")

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert asset.status_code == 200


async def test_graphiql_is_not_served_in_production(client_with):
    async with client_with(**PRODUCTION) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        asset = await client.get("/graphiql/graphiql/graphiql.min.js")

    assert page.status_code == 404
    assert page.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert asset.status_code == 404


async def test_production_serves_graphiql_when_the_setting_turns_it_on(client_with):
    async with client_with(**PRODUCTION, graphiql=True) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_production_still_answers_a_query_over_get_without_graphiql(client_with):
    async with client_with(**PRODUCTION) as client:
        response = await client.get("/graphql", params={"query": "{ vaccines { code } }"})

    assert response.status_code == 200
    assert response.json()["data"]["vaccines"]


@pytest.fixture(scope="session")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (.ci/run does)"
    return CHROMIUM


async def test_graphiql_runs_the_dashboard_offline_with_a_pasted_token(
    live_server, given, issuer, chromium
):
    citizen = await given.citizen(full_name="Trần Thị Bình", national_id="024090007777")
    await given.vaccination(
        vaccine_code="BNT162b2", national_id="024090007777", full_name="Trần Thị Bình"
    )
    token = issuer.issue(citizen)
    own = urlsplit(live_server).netloc
    blocked: list[str] = []

    async def only_the_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.route("**/*", only_the_service)
            await page.goto(f"{live_server}/graphql")
            await page.fill("#token", token)
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            await page.evaluate(
                "(q) => document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.setValue(q)",
                DASHBOARD,
            )
            await page.click(".graphiql-execute-button")
            response = page.locator(".graphiql-response")
            await response.get_by_text("Trần Thị Bình").wait_for(timeout=30_000)
            answer = await response.inner_text()
        finally:
            await browser.close()

    assert '"vaccinationStatus"' in answer
    assert "BNT162b2" in answer
    assert "UNAUTHENTICATED" not in answer
    assert blocked == []
