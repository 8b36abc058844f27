"""Spans from timestamps: a turn's span and its stage children, built when the turn ends.

Every span gets explicit start and end times (epoch ns) from what StageCollector and the
TurnTracker recorded, so building them costs the call nothing while it is under way, and
the trace shows when things happened, not when they were written down.

A turn span is one exchange: the caller's turn (if any) and the agent's answer. Its
children, each only when its timestamps were seen:

    vad.end_of_speech  caller's last sound → the VAD's decision (its stop_secs)
    stt                caller's last sound → the final transcript
    routing            final transcript → route hit, or → the LLM request (passed on)
    llm                one per request: sent → last chunk (GenAI attributes, TTFT)
    tool               the moment the model called a tool (GenAI execute_tool)
    tts                first text handed to the TTS → first audio sent to Twilio
    pacing             first audio sent to Twilio → the caller hears it (Twilio's mark echo)

Words (the caller's, the agent's) go on the turn span only with OTEL_CAPTURE_CONTENT=true,
masked by agent/records/redact.py when RECORDS_REDACT=true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context

from agent.records.redact import redact_text
from agent.records.turns import Turn
from agent.telemetry.stages import LLMRequest, TurnStages


def ns(ts: float) -> int:
    """Epoch seconds → epoch nanoseconds."""
    return int(round(ts * 1e9))


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


@dataclass(frozen=True)
class Content:
    """Whether words go on spans, and masked or not."""

    capture: bool = False
    redact: bool = False

    def text(self, value: str | None) -> str | None:
        if not self.capture or value is None:
            return None
        return redact_text(value) if self.redact else value


def _child(tracer: Tracer, parent: Context, name: str, start: float, end: float, **attrs):
    span = tracer.start_span(name, context=parent, start_time=ns(start), attributes=attrs)
    span.end(end_time=ns(max(end, start)))
    return span


def _llm_span(tracer: Tracer, parent: Context, request: LLMRequest, end_fallback: float) -> None:
    end = request.end if request.end is not None else end_fallback
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": request.system,
        "gen_ai.provider.name": request.system,
    }
    if request.model:
        attrs["gen_ai.request.model"] = request.model
    if request.response_model:
        attrs["gen_ai.response.model"] = request.response_model
    if request.input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = request.input_tokens
    if request.output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = request.output_tokens
    if request.first_token is not None:
        attrs["gen_ai.response.time_to_first_token_ms"] = round(
            (request.first_token - request.start) * 1000, 1
        )
    span = tracer.start_span(
        "llm", context=parent, kind=SpanKind.CLIENT, start_time=ns(request.start), attributes=attrs
    )
    if request.error is not None:
        span.set_attribute("error.type", request.error)
        span.set_status(Status(StatusCode.ERROR, request.error))
    span.end(end_time=ns(max(end, request.start)))


def _bounds(caller: Turn | None, agent: Turn | None, stages: TurnStages) -> tuple[float, float]:
    stamps = [
        _ts(caller.started_at) if caller else None,
        _ts(caller.ended_at) if caller else None,
        stages.speech_stopped,
        stages.vad_decided,
        stages.transcript_at,
        stages.routed_at,
        stages.tts_requested,
        stages.first_audio_sent,
        stages.heard,
        _ts(agent.started_at) if agent else None,
        _ts(agent.ended_at) if agent else None,
        *(r.start for r in stages.llm),
        *(r.end for r in stages.llm),
        *(t.at for t in stages.tools),
    ]
    known = [s for s in stamps if s is not None]
    return min(known), max(known)


def build_turn(
    tracer: Tracer,
    parent: Context,
    caller: Turn | None,
    agent: Turn | None,
    stages: TurnStages,
    content: Content = Content(),
) -> Span | None:
    """The turn's span and its children, ended; None when nothing was timed."""
    if caller is None and agent is None and stages.empty():
        return None
    start, end = _bounds(caller, agent, stages)
    attrs: dict = {}
    if (numbered := agent or caller) is not None:
        attrs["turn.number"] = numbered.seq
    if caller is not None:
        attrs["turn.caller.source"] = caller.source
        if (text := content.text(caller.text)) is not None:
            attrs["turn.caller.text"] = text
    if agent is not None:
        attrs["turn.source"] = agent.source
        attrs["turn.interrupted"] = agent.interrupted
        if agent.route:
            attrs["turn.route"] = agent.route
        if agent.latency_ms is not None:
            attrs["turn.latency_ms"] = agent.latency_ms
        if agent.failure:
            attrs["turn.failure"] = agent.failure
        if (text := content.text(agent.text)) is not None:
            attrs["turn.agent.text"] = text
        if agent.heard_text is not None and (heard := content.text(agent.heard_text)) is not None:
            attrs["turn.agent.heard_text"] = heard
    turn = tracer.start_span("turn", context=parent, start_time=ns(start), attributes=attrs)
    if agent is not None and agent.failure:
        turn.set_status(Status(StatusCode.ERROR, agent.failure))
    inside = set_span_in_context(turn, parent)
    s = stages
    if s.speech_stopped is not None and s.vad_decided is not None:
        _child(
            tracer,
            inside,
            "vad.end_of_speech",
            s.speech_stopped,
            s.vad_decided,
            **{"vad.stop_secs": round(s.vad_decided - s.speech_stopped, 3)},
        )
    if s.speech_stopped is not None and s.transcript_at is not None:
        _child(tracer, inside, "stt", s.speech_stopped, s.transcript_at)
    if s.transcript_at is not None and s.routed_at is not None:
        _child(
            tracer,
            inside,
            "routing",
            s.transcript_at,
            s.routed_at,
            **{"routing.hit": True, "routing.route": s.route or ""},
        )
    elif s.transcript_at is not None and s.llm:
        _child(tracer, inside, "routing", s.transcript_at, s.llm[0].start, **{"routing.hit": False})
    for request in s.llm:
        _llm_span(tracer, inside, request, end)
    for tool in s.tools:
        attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool.name}
        if tool.call_id:
            attrs["gen_ai.tool.call.id"] = tool.call_id
        _child(tracer, inside, "tool", tool.at, tool.at, **attrs)
    if s.tts_requested is not None and s.first_audio_sent is not None:
        _child(
            tracer,
            inside,
            "tts",
            s.tts_requested,
            s.first_audio_sent,
            **{"tts.time_to_first_audio_ms": _ms(s.first_audio_sent - s.tts_requested)},
        )
    if s.first_audio_sent is not None and s.heard is not None:
        _child(tracer, inside, "pacing", s.first_audio_sent, s.heard)
    turn.end(end_time=ns(end))
    return turn


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
