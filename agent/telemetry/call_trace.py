"""CallTrace: one call's trace, a call hook bound only when tracing is on.

The pipeline assembly (agent/app/pipeline.py) creates it when `Services.tracing` is set,
wraps the pacer's media link with it (`wrap_link`: the first audio sent per turn) and runs
it as a call hook: `attach(live)` binds the StageCollector to the call's processors, each
explicitly by type (user aggregator, router, TTS, the LLM's probe and tool events, the call
controller's transfer), and listens to the call's TurnTracker; each agent turn's end builds
that turn's spans (spans.py); `finish(live, outcome)` builds what was left and ends the
`call` span with the outcome, its reason and the duration.

A call back from an unanswered transfer (a new stream, `resume=transfer`) is a new trace
with a span link to the first stream's call span, when this process served that stream
(kept in `Tracing.recent`); both carry `twilio.call_sid`, so a search by call SID finds both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.trace import Link, Span, Status, StatusCode, set_span_in_context
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregator
from pipecat.services.tts_service import TTSService

from agent.adapters.openai_llm import ResilientGroqLLMService, ResilientOpenAILLMService
from agent.records.turns import Turn
from agent.telemetry.setup import Tracing
from agent.telemetry.spans import Content, build_turn, ns
from agent.telemetry.stages import StageCollector, TracedLink, TurnStages
from processors.call_control import CallController
from processors.call_transfer import TransferRequest
from processors.media_link import MediaLink
from processors.router import IntentRouter


class CallTrace:
    """A call hook building the call's trace (see the module docstring)."""

    def __init__(self, tracing: Tracing, *, resumed: bool = False, now=time.time):
        self.tracing = tracing
        self._now: Callable[[], float] = now
        self.started = now()
        self.stages = StageCollector(now)
        self._resumed = resumed
        self._content = Content(tracing.capture_content, tracing.redact)
        self._span: Span | None = None
        self._callers: list[Turn] = []
        self._transfer: tuple[float, TransferRequest] | None = None

    def __repr__(self) -> str:
        return "CallTrace"

    def wrap_link(self, link: MediaLink) -> MediaLink:
        """The pacer's link, noting the first audio sent in each turn."""
        return TracedLink(link, self.stages)

    # --- call hook ------------------------------------------------------------------------

    def attach(self, live) -> None:
        call = live.call
        links = []
        if self._resumed and (first := self.tracing.recent.get(call.call_sid)) is not None:
            links.append(Link(first, {"switchboard.link": "before_transfer"}))
        self._span = self.tracing.tracer.start_span(
            "call",
            start_time=ns(self.started),
            links=links,
            attributes={
                "twilio.call_sid": call.call_sid,
                "twilio.stream_sid": call.stream_sid,
                "switchboard.graph": live.graph.name,
                "call.direction": call.direction,
                "call.resumed": self._resumed,
                "call.after_hours": not call.line.open,
            },
        )
        self.tracing.remember(call.call_sid, self._span.get_span_context())
        live.turns().on_turn(self._on_turn)
        stages = self.stages
        live.worker.add_reached_downstream_filter(StageCollector.FRAME_TYPES)
        live.worker.add_event_handler("on_frame_reached_downstream", self._on_reached)
        for processor in live.processors:
            if isinstance(processor, LLMUserAggregator):
                processor.add_event_handler("on_user_turn_stopped", self._on_transcript)
            elif isinstance(processor, IntentRouter):
                processor.add_event_handler("on_route", self._on_route)
            elif isinstance(processor, TTSService):
                processor.add_event_handler("on_tts_request", self._on_tts_request)
            elif isinstance(processor, CallController):
                processor.add_event_handler("on_transfer", self._on_transfer)
            if isinstance(processor, (ResilientGroqLLMService, ResilientOpenAILLMService)):
                stages.llm_system = (
                    "groq" if isinstance(processor, ResilientGroqLLMService) else "openai"
                )
                processor.bind_probe(stages)
                processor.add_event_handler("on_function_calls_started", self._on_tools)

    async def finish(self, live, outcome: str) -> None:
        span = self._span
        if span is None:
            return
        end = self._now()
        parent = set_span_in_context(span)
        for caller in self._callers[:-1]:
            build_turn(self.tracing.tracer, parent, caller, None, TurnStages(), self._content)
        last = self._callers[-1] if self._callers else None
        self._callers = []
        build_turn(self.tracing.tracer, parent, last, None, self.stages.take(), self._content)
        if self._transfer is not None:
            at, request = self._transfer
            attrs = {
                "transfer.destination": request.name,
                "transfer.via": request.via,
                "transfer.outcome": outcome,
            }
            if (reason := self._content.text(request.reason)) is not None:
                attrs["transfer.reason"] = reason
            transfer = self.tracing.tracer.start_span(
                "transfer", context=parent, start_time=ns(at), attributes=attrs
            )
            transfer.end(end_time=ns(max(end, at)))
        span.set_attribute("call.outcome", outcome)
        if live.end_reason:
            span.set_attribute("call.end_reason", live.end_reason)
        span.set_attribute("call.duration_s", round(end - self.started, 3))
        if outcome == "error":
            span.set_status(Status(StatusCode.ERROR, live.end_reason or outcome))
        span.end(end_time=ns(end))
        self._span = None

    # --- inputs ---------------------------------------------------------------------------

    def _on_turn(self, turn: Turn) -> None:
        if self._span is None:  # the call's trace is already finished
            return
        if turn.role == "caller":
            self._callers.append(turn)
            return
        parent = set_span_in_context(self._span)
        for caller in self._callers[:-1]:  # several caller turns (keys, words) in a row
            build_turn(self.tracing.tracer, parent, caller, None, TurnStages(), self._content)
        caller = self._callers[-1] if self._callers else None
        self._callers = []
        build_turn(self.tracing.tracer, parent, caller, turn, self.stages.take(), self._content)

    async def _on_reached(self, _worker, frame) -> None:
        self.stages.on_frame(frame)

    async def _on_transcript(self, _aggregator, _strategy, _message) -> None:
        self.stages.transcript()

    async def _on_route(self, _router, hit) -> None:
        self.stages.transcript()
        self.stages.routed(hit.route)

    async def _on_tts_request(self, _tts, _context_id, _text) -> None:
        self.stages.tts_request()

    async def _on_tools(self, _llm, function_calls) -> None:
        for call in function_calls:
            self.stages.tool_called(call.function_name, call.tool_call_id)

    async def _on_transfer(self, _controller, request: TransferRequest) -> None:
        self._transfer = (self._now(), request)
