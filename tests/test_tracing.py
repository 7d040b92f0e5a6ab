"""OpenTelemetry tracing, off by default: a span per request and one per store read."""

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.app import create_app
from models.config import Tracing
from models.venue import VenueKind

DASHBOARD = """query Dashboard { me { fullName vaccinations { id }
  testResults { edges { node { id } } } checkIns { edges { node { id } } } } }"""


async def test_a_request_has_a_span_with_a_child_for_each_store_read(
    settings, store_urls, engines, given, issuer
):
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    await given.check_ins(citizen, await given.venue(VenueKind.MARKET), 1)
    exporter = InMemorySpanExporter()
    app = create_app(settings, store_urls, span_exporter=exporter)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hg") as http:
            response = await http.post(
                "/graphql",
                json={"query": DASHBOARD},
                headers={
                    "authorization": f"Bearer {issuer.issue(citizen)}",
                    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                },
            )

    assert "errors" not in response.json()
    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "POST /graphql"]
    assert request.attributes["graphql.operation.name"] == "Dashboard"
    assert request.attributes["healthgraph.outcome"] == "ok"
    assert request.attributes["healthgraph.request_id"] == response.headers["x-request-id"]
    assert format(request.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    reads = [s for s in spans if s.name.endswith("store read")]
    assert {s.attributes["healthgraph.store"] for s in reads} == {
        "core",
        "immunization",
        "testing",
    }
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in reads)


async def test_tracing_is_off_by_default(settings, client):
    assert settings.tracing is Tracing.OFF
    assert client._transport.app.state.services.tracer is None  # type: ignore[attr-defined]
