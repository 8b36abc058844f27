"""Assemble one call's pipeline: Twilio transport in, the graph's chain, transport out.

    transport.input() → call controller → chain (vad, stt, llm, tts, pacer) → transport.output()
                      → after_output (assistant context) → heard-context editor

- The call controller (processors/call_control.py) carries the graph's `call:` settings:
  greeting, idle prompts, time limit, DTMF, hang-up.
- Every call has an `audio_pacer` right before transport out: the graph's own, or one with
  default settings appended here (audio sent unpaced would pile up in Twilio's buffer).
- Observers: the graph's taps only; the turn-latency histogram is fed from frames reaching
  the pipeline's end (`TurnLatency`), which costs nothing per frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from agent import engine
from agent import twilio_protocol as tp
from agent.graph import BuildContext, CallInfo, Graph, build_graph
from agent.nodes.router import phrase_book_of
from agent.serializer import TwilioSerializer
from agent.transport import TwilioTransport
from processors.call_control import CallController
from processors.heard_context import HeardContextEditor
from processors.pacer import AudioPacer


@dataclass
class BuiltCall:
    worker: engine.PipelineWorker
    transport: TwilioTransport
    controller: CallController

    async def run(self) -> None:
        await engine.run_worker(self.worker)


class TurnLatency:
    """Caller stops speaking → agent starts speaking, for the turn latency histogram.

    What pipecat's UserBotLatencyObserver reports as `on_latency_measured`, read from the
    three frame types that reach the pipeline's end rather than by an observer: an observer
    costs a queue hand-off for every frame every processor pushes (see engine.make_worker).
    The caller stopped at the VAD's decision minus its `stop_secs`; a turn counts once, at
    the first `BotStartedSpeakingFrame` after it; the caller speaking again starts over.
    """

    FRAME_TYPES = (
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
        BotStartedSpeakingFrame,
    )

    def __init__(self, observe: Callable[[float], None], now: Callable[[], float] = time.time):
        self._observe = observe
        self._now = now
        self._user_stopped: float | None = None

    def on_frame(self, frame) -> None:
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._user_stopped = None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._user_stopped = frame.timestamp - frame.stop_secs
        elif isinstance(frame, BotStartedSpeakingFrame) and self._user_stopped is not None:
            self._observe(self._now() - self._user_stopped)
            self._user_stopped = None

    def attach(self, worker: engine.PipelineWorker) -> None:
        worker.add_reached_downstream_filter(self.FRAME_TYPES)

        @worker.event_handler("on_frame_reached_downstream")
        async def _reached(_worker, frame):
            self.on_frame(frame)


def build_call_pipeline(session, graph: Graph, start: tp.Start) -> BuiltCall:
    """Build (but do not start) the pipeline worker for a started Twilio stream."""
    services = session.services
    config = services.config
    metrics = services.metrics
    serializer = TwilioSerializer(
        start,
        account_sid=config.twilio_account_sid or start.account_sid or None,
        auth_token=config.twilio_auth_token.reveal() if config.twilio_auth_token else None,
        api_base_url=config.twilio_api_base_url,
    )
    transport = TwilioTransport(
        session.bridge,
        serializer,
        on_received=metrics.count_twilio_message,
        on_dropped=lambda reason: metrics.twilio_dropped.labels(reason).inc(),
    )
    call = CallInfo(
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        account_sid=start.account_sid or None,
        from_number=start.custom_parameters.get("from"),
        to_number=start.custom_parameters.get("to"),
    )
    ctx = BuildContext(config=config, graph=graph, call=call, shared=services.shared)
    gb = build_graph(graph, ctx)
    controller = CallController(graph.call, name="call", phrases=phrase_book_of(gb))
    chain = list(gb.chain)
    if not any(isinstance(p, AudioPacer) for p in chain):
        chain.append(AudioPacer(name="pacer"))
    contexts = [n.context for n in gb.nodes.values() if n.context is not None]
    processors = [
        transport.input(),
        controller,
        *chain,
        transport.output(),
        *gb.after_output,
        HeardContextEditor(contexts, name="heard-context"),
    ]
    # Only the graph's taps: with none, pipecat skips its per-frame observer hand-offs.
    worker = engine.make_worker(
        processors, observers=list(gb.observers), name=f"call-{start.call_sid[-8:]}"
    )
    TurnLatency(metrics.turn_latency.observe).attach(worker)
    return BuiltCall(worker=worker, transport=transport, controller=controller)
