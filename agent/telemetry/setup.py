"""The process's tracer, from the standard OpenTelemetry variables, or None (tracing off).

Read from the server's configuration environment (`Config.environ`: the environment over
`.env`), so `.env` works for these as for every other setting:

- `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (its
  `/v1/traces`): set, traces are exported over OTLP/HTTP (protobuf) by a BatchSpanProcessor
  (its own thread: a call never waits on the collector). Unset: no tracer provider at all.
- `OTEL_SDK_DISABLED=true`: off, whatever else is set.
- `OTEL_SERVICE_NAME` (default "switchboard"), `OTEL_RESOURCE_ATTRIBUTES`.
- `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`, e.g.
  an `Authorization`): secrets, never logged; only the endpoint is.
- `OTEL_CAPTURE_CONTENT` (ours, agent/config.py): the caller's words and the agent's
  replies on spans; off by default (personal data), masked when RECORDS_REDACT is on.

The other `OTEL_EXPORTER_OTLP_*` variables (timeout, compression, certificates) and
`OTEL_BSP_*` are read by the SDK from the process environment.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from loguru import logger
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanContext, Tracer

from agent.config import Config

SERVICE_NAME = "switchboard"
SCOPE = "switchboard.calls"
RECENT_CALLS = 1000  # call SID -> call span, for the link from a call back after a transfer


@dataclass
class Tracing:
    """What a call needs to be traced: the tracer, and whether words go on spans."""

    tracer: Tracer
    provider: TracerProvider
    capture_content: bool = False
    redact: bool = False
    recent: OrderedDict[str, SpanContext] = field(default_factory=OrderedDict)

    def remember(self, call_sid: str, context: SpanContext) -> None:
        """The newest call span of `call_sid` (a call back after a transfer links to it)."""
        self.recent[call_sid] = context
        self.recent.move_to_end(call_sid)
        while len(self.recent) > RECENT_CALLS:
            self.recent.popitem(last=False)

    def force_flush(self, timeout_ms: int = 5000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        """Export what is buffered, then stop (server cleanup)."""
        self.provider.shutdown()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def traces_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL the standard variables name, or None."""
    specific = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip()
    if specific:
        return specific
    base = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def tracing_from_config(
    config: Config, *, processor: SpanProcessor | None = None
) -> Tracing | None:
    """The process's Tracing, or None when no endpoint is set (or OTEL_SDK_DISABLED).

    `processor`: export through this span processor instead of OTLP (tests: the SDK's
    in-memory exporter); tracing is then on whatever the endpoint variables say.
    """
    env = config.environ
    if _truthy(env.get("OTEL_SDK_DISABLED")):
        return None
    endpoint = traces_endpoint(env)
    if processor is None and endpoint is None:
        return None
    name = (env.get("OTEL_SERVICE_NAME") or "").strip() or SERVICE_NAME
    resource = Resource.create({"service.name": name})
    provider = TracerProvider(resource=resource)
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.util.re import parse_env_headers

        raw = env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get(
            "OTEL_EXPORTER_OTLP_HEADERS", ""
        )
        headers = parse_env_headers(raw, liberal=True) if raw else None
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers))
        where = urlparse(endpoint)  # scheme, host and path only: no userinfo, no query
        shown = f"{where.scheme}://{where.hostname}{f':{where.port}' if where.port else ''}"
        logger.info(f"tracing: OTLP/HTTP traces to {shown}{where.path} as service {name!r}")
    provider.add_span_processor(processor)
    return Tracing(
        tracer=provider.get_tracer(SCOPE),
        provider=provider,
        capture_content=config.otel_capture_content,
        redact=config.records_redact,
    )
