"""Spans built from a turn's timestamps: exact start and end times, attributes, words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode, set_span_in_context

from agent.records.turns import Turn
from agent.telemetry.spans import Content, build_turn, ns
from agent.telemetry.stages import LLMRequest, ToolUse, TurnStages

T0 = 1_800_000_000.0


def at(offset: float) -> float:
    return T0 + offset


def dt(offset: float) -> datetime:
    return datetime.fromtimestamp(at(offset), UTC)


@pytest.fixture
def traced():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    parent = tracer.start_span("call", start_time=ns(at(-10)))
    yield tracer, set_span_in_context(parent), exporter
    provider.shutdown()


def _caller(text="what are your opening hours 415 555 0100"):
    return Turn(3, "caller", text, dt(0.0), dt(1.2))


def _agent(**changes):
    values = dict(
        seq=4,
        role="agent",
        text="We're open from nine to five.",
        started_at=dt(2.0),
        ended_at=dt(4.5),
        heard_text="We're open from nine to five.",
        source="llm",
        latency_ms=800.0,
    )
    values.update(changes)
    return Turn(**values)


STAGES = TurnStages(
    speech_stopped=at(1.2),
    vad_decided=at(1.4),
    transcript_at=at(1.5),
    llm=[
        LLMRequest(
            at(1.52),
            model="llama-3.3-70b-versatile",
            system="groq",
            first_token=at(1.75),
            end=at(1.9),
            response_model="llama-3.3-70b-versatile",
            input_tokens=120,
            output_tokens=12,
        )
    ],
    tools=[ToolUse("end_call", at(1.8), "call_1")],
    tts_requested=at(1.78),
    first_audio_sent=at(1.95),
    heard=at(2.0),
)


def test_a_turn_and_its_stages_with_exact_times(traced):
    tracer, parent, exporter = traced
    build_turn(tracer, parent, _caller(), _agent(), STAGES)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    times = {name: (s.start_time, s.end_time) for name, s in spans.items()}
    assert times == {
        "turn": (ns(at(0.0)), ns(at(4.5))),
        "vad.end_of_speech": (ns(at(1.2)), ns(at(1.4))),
        "stt": (ns(at(1.2)), ns(at(1.5))),
        "routing": (ns(at(1.5)), ns(at(1.52))),
        "llm": (ns(at(1.52)), ns(at(1.9))),
        "tool": (ns(at(1.8)), ns(at(1.8))),
        "tts": (ns(at(1.78)), ns(at(1.95))),
        "pacing": (ns(at(1.95)), ns(at(2.0))),
    }
    turn = spans["turn"]
    assert all(s.parent.span_id == turn.context.span_id for n, s in spans.items() if n != "turn")
    assert dict(turn.attributes) == {
        "turn.number": 4,
        "turn.caller.source": "caller",
        "turn.source": "llm",
        "turn.interrupted": False,
        "turn.latency_ms": 800.0,
    }
    assert dict(spans["llm"].attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "groq",
        "gen_ai.provider.name": "groq",
        "gen_ai.request.model": "llama-3.3-70b-versatile",
        "gen_ai.response.model": "llama-3.3-70b-versatile",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.time_to_first_token_ms": 230.0,
    }
    assert spans["routing"].attributes["routing.hit"] is False
    assert spans["vad.end_of_speech"].attributes["vad.stop_secs"] == 0.2
    assert spans["tts"].attributes["tts.time_to_first_audio_ms"] == 170.0
    assert spans["tool"].attributes["gen_ai.tool.name"] == "end_call"
    assert spans["tool"].attributes["gen_ai.tool.call.id"] == "call_1"


def test_a_route_hit_has_no_llm_and_a_hit_routing_span(traced):
    tracer, parent, exporter = traced
    stages = TurnStages(
        speech_stopped=at(1.2),
        vad_decided=at(1.4),
        transcript_at=at(1.5),
        routed_at=at(1.51),
        route="pricing",
        first_audio_sent=at(1.52),
        heard=at(1.6),
    )
    build_turn(tracer, parent, _caller(), _agent(source="route", route="pricing"), stages)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"turn", "vad.end_of_speech", "stt", "routing", "pacing"}
    assert dict(spans["routing"].attributes) == {"routing.hit": True, "routing.route": "pricing"}
    assert (spans["routing"].start_time, spans["routing"].end_time) == (
        ns(at(1.5)),
        ns(at(1.51)),
    )
    assert spans["turn"].attributes["turn.route"] == "pricing"


def test_a_failed_request_and_an_unfinished_one(traced):
    tracer, parent, exporter = traced
    stages = TurnStages(
        llm=[
            LLMRequest(at(1.0), model="m", system="groq", end=at(2.0), error="timeout"),
            LLMRequest(at(2.1), model="fallback", system="groq"),  # the call ended first
        ]
    )
    build_turn(tracer, parent, None, _agent(source="fallback", failure="llm:timeout"), stages)
    spans = exporter.get_finished_spans()
    first, second = [s for s in spans if s.name == "llm"]
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes["error.type"] == "timeout"
    assert (second.start_time, second.end_time) == (ns(at(2.1)), ns(at(4.5)))  # the turn's end
    [turn] = [s for s in spans if s.name == "turn"]
    assert turn.status.status_code is StatusCode.ERROR
    assert turn.attributes["turn.failure"] == "llm:timeout"


def test_words_only_when_captured_and_masked_when_redacting(traced):
    tracer, parent, exporter = traced
    build_turn(tracer, parent, _caller(), _agent(), STAGES)
    build_turn(tracer, parent, _caller(), _agent(), STAGES, Content(capture=True))
    build_turn(tracer, parent, _caller(), _agent(), STAGES, Content(capture=True, redact=True))
    off, on, masked = [s for s in exporter.get_finished_spans() if s.name == "turn"]
    assert not [k for k in off.attributes if k.endswith("text")]
    assert on.attributes["turn.caller.text"] == "what are your opening hours 415 555 0100"
    assert on.attributes["turn.agent.text"] == "We're open from nine to five."
    assert on.attributes["turn.agent.heard_text"] == "We're open from nine to five."
    assert "415 555 0100" not in masked.attributes["turn.caller.text"]
    assert masked.attributes["turn.caller.text"].startswith("what are your opening hours")


def test_nothing_timed_is_no_span(traced):
    tracer, parent, exporter = traced
    assert build_turn(tracer, parent, None, None, TurnStages()) is None
    assert exporter.get_finished_spans() == ()
