"""Assemble one call's pipeline: Twilio transport in, the graph's chain, transport out.

    transport.input() → call controller → chain (vad, stt, llm, tts, pacer) → transport.output()
                      → after_output (assistant context) → heard-context editor

- The call controller (processors/call_control.py) carries the graph's `call:` settings:
  greeting, idle prompts, time limit, DTMF, hang-up.
- Every call has an `audio_pacer` right before transport out: the graph's own, or one with
  default settings appended here (audio sent unpaced would pile up in Twilio's buffer).
- Observers: the graph's taps plus a turn-latency observer feeding the Prometheus histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent import engine
from agent import twilio_protocol as tp
from agent.graph import BuildContext, CallInfo, Graph, build_graph
from agent.serializer import TwilioSerializer
from agent.transport import TwilioTransport
from processors.call_control import CallController
from processors.heard_context import HeardContextEditor
from processors.pacer import AudioPacer


@dataclass
class BuiltCall:
    worker: engine.PipelineWorker
    transport: TwilioTransport
    graph_build: object
    controller: CallController
    contexts: list

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
    controller = CallController(graph.call, name="call")
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
    observers = [*gb.observers, _latency_observer(metrics)]
    worker = engine.make_worker(processors, observers=observers, name=f"call-{start.call_sid[-8:]}")
    return BuiltCall(
        worker=worker, transport=transport, graph_build=gb, controller=controller, contexts=contexts
    )
