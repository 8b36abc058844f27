"""A warm transfer, the person's side: their call's media stream, from `start` to its end.

Twilio connects the person's call (created by agent/app/warm_transfer.py) to /ws with the
stream parameter `warm=<transfer id>`; the call session hands such a stream here. Its
pipeline is not the graph's conversation but the graph's own speech parts around one
dialog:

    transport in → the graph's VAD and STT → WarmAcceptor → the graph's TTS → pacer → out

The acceptor (processors/warm_accept.py) says the brief (live TTS) and the question,
and settles the transfer through the registry entry (`LegSink.decide`). Accepted: the
stream's end updates the person's call with `<Dial><Conference>` (the transport's
hand-off); otherwise the stream's end hangs the person's call up over REST, as any call
the agent ends. A stream whose transfer is unknown or already settled (a caller who hung
up during the ringing) is told so and ended at once. The person hanging up before
deciding counts as a decline.
"""

from __future__ import annotations

from loguru import logger

from agent.adapters import engine
from agent.app.transfer_call import HandOff
from agent.app.warm_registry import WarmTransfer
from agent.app.warm_transfer import LEG_PARAMETER
from agent.graph import BuildContext, CallInfo, Graph
from agent.graph.build import GraphBuild
from agent.graph.registry import PACER_TYPE
from agent.graph.resolved import iter_names
from agent.nodes.router import phrase_book_of
from agent.twilio import protocol as tp
from agent.twilio import twiml
from agent.twilio.serializer import TwilioSerializer
from agent.twilio.transport import TwilioTransport
from processors.pacer import AudioPacer
from processors.warm_accept import WarmAcceptor

ASK = "Say yes or press 1 to take the call, or press 2 to decline."
CONNECTING = "Connecting you now."
DECLINED = "Okay, I'll let them know. Goodbye."
CALLER_LEFT = "Sorry, the caller has hung up. Goodbye."


class LegSink:
    """The acceptor's decision into the registry; an accepted one arms the hand-off."""

    def __init__(self, transfer: WarmTransfer, arm_conference):
        self._transfer = transfer
        self._arm = arm_conference

    def decide(self, decision: str) -> bool:
        if decision == "accepted":
            self._arm()  # before the state changes: the caller's update follows at once
        settled = self._transfer.advance(decision)
        return settled


def leg_transfer(services, start: tp.Start) -> WarmTransfer | None:
    return services.warm.get(start.custom_parameters.get(LEG_PARAMETER))


class _Speech:
    """The graph's speech nodes, built for this stream: VAD/STT, TTS, pacer, phrases."""

    def __init__(self, graph: Graph, ctx: BuildContext):
        self.head, self.tts, self.pacer = [], [], None
        nodes = {}
        for name in iter_names(graph.chain):
            node = graph.nodes[name]
            kinds = node.type
            wanted = (
                "audio.in" in kinds.consumes
                or ("llm.text" in kinds.consumes and "audio.out" in kinds.produces)
                or node.type.name in (PACER_TYPE, "intent_router")
            )
            if not wanted:
                continue
            built = node.type.load_builder()(node.params, ctx, name)
            nodes[name] = built
            if node.type.name == PACER_TYPE:
                self.pacer = built.processors[-1]
            elif "audio.in" in kinds.consumes:
                self.head += built.processors
            elif node.type.name != "intent_router":
                self.tts += built.processors
        self.phrases = phrase_book_of(GraphBuild([], [], [], nodes))
        self.take_read_ahead = [n.take_read_ahead for n in nodes.values() if n.take_read_ahead]


async def run_leg(session, start: tp.Start) -> str:
    """Run the person's stream; its outcome (accepted, declined, timeout, caller_left,
    person_hung_up, unknown_transfer, error)."""
    services = session.services
    transfer = leg_transfer(services, start)
    if transfer is None or transfer.state not in ("dialing", "ringing"):
        logger.warning("warm transfer leg: unknown or settled transfer; ending the stream")
        resource = services.twilio.call(start.call_sid, start.account_sid or None)
        if resource is not None:
            resource.hang_up_in_background()
        await session.bridge.close()
        return "unknown_transfer"
    transfer.leg_sid = transfer.leg_sid or start.call_sid
    graph = services.graph_for(transfer.graph)
    serializer = TwilioSerializer(
        start, hang_up=services.twilio.call(start.call_sid, start.account_sid or None)
    )
    transport = TwilioTransport(
        session.bridge,
        serializer,
        on_received=services.metrics.count_twilio_message,
        on_dropped=lambda reason: services.metrics.twilio_dropped.labels(reason).inc(),
    )
    call = CallInfo(call_sid=start.call_sid, stream_sid=start.stream_sid)
    speech = _Speech(graph, BuildContext(services.config, graph, call, services.cache))
    acceptor = WarmAcceptor(
        transfer.brief,
        ask=ASK,
        connecting=CONNECTING,
        declined=DECLINED,
        caller_left=CALLER_LEFT,
        accept_timeout_s=transfer.accept_timeout_s,
        phrases=speech.phrases,
        name="warm-acceptor",
    )

    def arm_conference() -> None:
        transport.hand_off = HandOff(
            services.twilio,
            None,  # the person's call has no record of its own
            graph,
            start.call_sid,
            start.account_sid or None,
            twiml.conference(transfer.conference),
        )

    acceptor.bind_sink(LegSink(transfer, arm_conference))
    pacer = speech.pacer or AudioPacer(name="pacer")
    pacer.link_to(transport)
    for take in speech.take_read_ahead:
        take(pacer)
    worker = engine.make_worker(
        [transport.input(), *speech.head, acceptor, *speech.tts, pacer, transport.output()],
        observers=[],
        name=f"warm-{start.call_sid[-8:]}",
    )

    def on_change(_transfer: WarmTransfer, state: str) -> None:
        if state == "caller_hung_up":
            acceptor.create_task(acceptor.caller_left(), name="warm-caller-left")

    transfer.on_change(on_change)
    transfer.advance("briefing")
    hung_up = False

    @transport.event_handler("on_caller_hung_up")
    async def _on_hung_up(_transport, reason):
        nonlocal hung_up
        hung_up = True
        transfer.advance("declined")  # the person hung up before deciding
        await worker.cancel(reason=f"person hung up ({reason})")

    try:
        await engine.run_worker(worker)
    except Exception as exc:
        logger.exception(f"warm transfer leg failed: {exc.__class__.__name__}")
        transfer.advance("failed")
        return "error"
    finally:
        await session.bridge.close()
    if hung_up and acceptor.decision is None:
        return "person_hung_up"
    return acceptor.decision or "ended"
