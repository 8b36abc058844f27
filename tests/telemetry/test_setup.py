"""The tracer from the standard OTEL_* variables: off unless an endpoint is set."""

from __future__ import annotations

import pytest
from loguru import logger
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent.config import Config
from agent.telemetry.setup import Tracing, traces_endpoint, tracing_from_config


@pytest.fixture
def caplog_loguru():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


def test_nothing_set_is_no_tracer_at_all():
    assert tracing_from_config(config()) is None


def test_the_sdk_disabled_wins_over_an_endpoint():
    cfg = config(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_SDK_DISABLED="true")
    assert tracing_from_config(cfg) is None


def test_endpoints_as_the_specification_says():
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    assert (
        traces_endpoint(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t.example/api/traces",
            }
        )
        == "https://t.example/api/traces"
    )
    assert traces_endpoint({}) is None


def test_an_endpoint_turns_it_on_and_the_headers_are_never_logged(caplog_loguru):
    cfg = config(
        OTEL_EXPORTER_OTLP_ENDPOINT="https://user:pw@collector.example:4318",
        OTEL_EXPORTER_OTLP_HEADERS="Authorization=Basic%20c2VjcmV0LXRva2Vu",
        OTEL_SERVICE_NAME="front-desk",
    )
    tracing = tracing_from_config(cfg)
    try:
        assert isinstance(tracing, Tracing)
        assert tracing.provider.resource.attributes["service.name"] == "front-desk"
        assert not tracing.capture_content and not tracing.redact
    finally:
        tracing.shutdown()
    logged = "\n".join(caplog_loguru)
    assert "https://collector.example:4318/v1/traces" in logged
    assert "c2VjcmV0" not in logged and "secret" not in logged and "pw@" not in logged


def test_capture_and_redaction_follow_the_settings():
    cfg = config(OTEL_CAPTURE_CONTENT="true", RECORDS_REDACT="true")
    tracing = tracing_from_config(cfg, processor=SimpleSpanProcessor(InMemorySpanExporter()))
    assert tracing.capture_content and tracing.redact
    assert tracing.provider.resource.attributes["service.name"] == "switchboard"
    tracing.shutdown()


def test_a_call_back_after_a_transfer_finds_the_first_call_span_and_old_ones_go():
    tracing = tracing_from_config(config(), processor=SimpleSpanProcessor(InMemorySpanExporter()))
    spans = [tracing.tracer.start_span(f"call{i}") for i in range(1002)]
    for i, span in enumerate(spans):
        tracing.remember(f"CA{i}", span.get_span_context())
    assert "CA0" not in tracing.recent and "CA1" not in tracing.recent
    assert tracing.recent["CA1001"] == spans[-1].get_span_context()
    tracing.shutdown()
