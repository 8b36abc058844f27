"""OpenTelemetry traces of calls: one trace per call, a span per turn, a child per stage.

Off unless an OTLP endpoint is configured by the standard variables
(`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; setup.py). Off, no
tracer provider exists and nothing is attached to a call: zero cost.

On, a call's stage timestamps are collected WITHOUT a pipecat observer (stages.py: frames
reaching the pipeline's end, processor events, an LLM probe, a wrapper round the pacer's
media link), and the spans are built, with explicit start and end times, when each turn
ends (spans.py), the call span when the call ends (call_trace.py). The call path pays no
per-frame hand-off; docs/decisions/tracing.md says why not pipecat's TurnTraceObserver.
"""

from agent.telemetry.setup import Tracing, tracing_from_config

__all__ = ["Tracing", "tracing_from_config"]
