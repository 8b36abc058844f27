"""Assemble one call's pipeline: Twilio transport in, the graph's chain, transport out.

    transport.input() → chain (vad, stt, llm ...) → transport.output() → after_output
                                                                       (assistant context)
Observers: the graph's taps plus a turn-latency observer feeding the Prometheus histogram.
The greeting, when the graph has one, is queued before the pipeline starts, so provider
sockets open while the stream starts and the greeting follows as soon as TTS is ready.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent import engine
from agent import twilio_protocol as tp
from agent.graph import BuildContext, CallInfo, Graph, build_graph
from agent.serializer import TwilioSerializer
from agent.transport import TwilioTransport


@dataclass
class BuiltCall:
    worker: engine.PipelineWorker
    transport: TwilioTransport
    graph_build: object

    async def run(self) -> None:
        await engine.run_worker(self.worker)


def _latency_observer(metrics):
    from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver

    observer = UserBotLatencyObserver()

    @observer.event_handler("on_latency_measured")
    async def _on_latency(_observer, seconds: float):
        metrics.turn_latency.observe(seconds)

    return observer


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
        on_received=lambda event: metrics.twilio_messages.labels(
            type(event).__name__.lower()
        ).inc(),
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
    processors = [transport.input(), *gb.chain, transport.output(), *gb.after_output]
    observers = [*gb.observers, _latency_observer(metrics)]
    worker = engine.make_worker(processors, observers=observers, name=f"call-{start.call_sid[-8:]}")
    greeting = graph.call.greeting
    if greeting:
        _queue_greeting(worker, greeting)
    return BuiltCall(worker=worker, transport=transport, graph_build=gb)


def _queue_greeting(worker, text: str) -> None:
    from pipecat.frames.frames import TTSSpeakFrame

    @worker.event_handler("on_pipeline_started")
    async def _greet(_worker, _frame):
        await worker.queue_frame(TTSSpeakFrame(text))
