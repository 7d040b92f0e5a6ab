"""OpenTelemetry tracing by configuration: off by default, else spans exported to the
console or to an OTLP collector (one span per request, one per store read)."""

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Tracer

from models.config import Settings, Tracing


def _exporter(settings: Settings) -> SpanExporter | None:
    if settings.tracing is Tracing.CONSOLE:
        return ConsoleSpanExporter()
    if settings.tracing is Tracing.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Unset, the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (default localhost:4318).
        return OTLPSpanExporter(endpoint=settings.otlp_traces_endpoint)
    return None


def tracer_provider(
    settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The process's provider, or None when tracing is off. `exporter` replaces the
    configured one (a test hands in the SDK's in-memory exporter)."""
    if exporter is None:
        exporter = _exporter(settings)
        if exporter is None:
            return None
        processor: SimpleSpanProcessor | BatchSpanProcessor = BatchSpanProcessor(exporter)
    else:
        processor = SimpleSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "healthgraph"}))
    provider.add_span_processor(processor)
    return provider


def tracer_of(provider: TracerProvider | None) -> Tracer | None:
    return provider.get_tracer("healthgraph") if provider is not None else None
