"""Assemble one call's pipeline: Twilio transport in, the graph's chain, transport out.

    transport.input() → call controller → chain (vad, stt, llm, tts, pacer) → transport.output()
                      → after_output (assistant context) → heard-context editor

- The call controller (processors/call_control.py) carries the graph's `call:` settings:
  greeting, idle prompts, time limit, DTMF, hang-up. A call that came in after hours with
  an after-hours greeting (agent/app/answering.py, `CallInfo.line`) starts with that
  greeting instead of `call.greeting`, and with `take_message`, goes on to take a message.
- Every call ends in an `audio_pacer`, right before transport out: the graph's own (graph
  validation keeps it last), or one with default settings appended here (audio sent
  unpaced would pile up in Twilio's buffer). The assembly binds the channels the node types
  declare (agent/graph/registry.py CHANNELS; processors/media_link.py): the pacer writes
  to the transport's media link and takes its mark echoes, and a TTS with a read-ahead
  channel (Cartesia) reads its stream at the pace the pacer plays it out.
- Recording (the graph's `call.record`): the pacer's media link is wrapped in the call's
  RecordingLink and the transport's caller audio tapped (agent/recording/), both bound
  here; `BuiltCall.finish` closes the file.
- Messages (a graph with `messages:`): the message-taking dialog in front of the LLM
  (processors/message_taking.py) is bound to the call's sink, which stores each message
  the moment it is taken and texts it to the owner (agent/records/outbox.py).
- Observers: the graph's taps only; the turn-latency histogram is fed from frames reaching
  the pipeline's end (`TurnLatency`), which costs nothing per frame.
- Transfers: the controller's `on_transfer` gives the transport its hand-off (the REST
  update with the <Dial>, agent/app/transfer_call.py), which the controller runs once the
  transfer phrase has played (`hand_off_now`; refused, the caller is told and the call
  goes on). A call back from an unanswered transfer
  (`resume`) starts with the conversation so far in the LLM context, the graph's
  `transfer_failed` phrase instead of the greeting, and its turns numbered on from the record's.
- Warm transfers (a graph with a `warm: true` destination): a HoldMusic
  (processors/hold_music.py) stands right behind the controller, bound to it; the
  controller's warm `on_transfer` starts a WarmCaller (agent/app/warm_transfer.py) with
  the brief for the person (agent/app/warm_brief.py: the caller's words in the LLM
  context and the extraction so far).
- Outbound calls (`direction=outbound` on the stream, agent/app/outbound_call.py): the
  graph's words rendered with the call's variables, no greeting until a CalleeAnswer
  (processors/callee_answer.py) after the STT has decided person (the greeting) or machine
  (the voicemail, then hang up). Every call: the controller's `list_number` (do-not-call).
- Traces (agent/telemetry), only when `Services.tracing` is set: a CallTrace hook, and the
  pacer's media link wrapped to note each turn's first audio sent. Off, nothing of it.
- Call hooks (taps such as call_recorder, lead_extraction): `attach(LiveCall)` once the
  worker exists, `finish(live, outcome)` when the call is over (`BuiltCall.finish`); they
  share the call's TurnTracker (agent/records/turns.py), created on first use.
  With call watchers (`Services.watchers`, agent/app/call_watch.py: the dashboard's live
  board) every call gets its LiveCall, hooks or not, so the watchers hear its turns too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from agent.adapters import engine
from agent.app import outbound_call, transfer_call, warm_transfer
from agent.app.answering import line_from_parameters
from agent.app.gc_tuning import release_objects
from agent.app.warm_brief import brief_text, caller_words
from agent.graph import BuildContext, CallInfo, Graph, build_graph
from agent.graph.callvars import render_settings
from agent.graph.registry import IMPLICIT_PACER
from agent.nodes.router import phrase_book_of
from agent.recording.call import CallRecording
from agent.records.outbox import CallMessages
from agent.records.recorder import call_started
from agent.records.runtime import RecordsRuntime
from agent.records.turns import TurnTracker
from agent.telemetry.call_trace import CallTrace
from agent.twilio import protocol as tp
from agent.twilio.serializer import TwilioSerializer
from agent.twilio.transport import TwilioTransport
from processors.call_control import CallController
from processors.callee_answer import CalleeAnswer
from processors.clock import LOOP_CLOCK
from processors.heard_context import HeardContextEditor
from processors.hold_music import HoldMusic
from processors.idle_timer import idle_timeout_s
from processors.media_link import MediaLink
from processors.message_taking import MessageTaker
from processors.pacer import AudioPacer


@dataclass
class LiveCall:
    """What a call hook sees: the call, its worker and processors, per-call shared state."""

    call: CallInfo
    graph: Graph
    worker: engine.PipelineWorker
    processors: list  # every node's processors (chain and after_output), controller included
    contexts: list
    records: RecordsRuntime | None  # the process's call records (Services.records)
    per_call: dict = field(default_factory=dict)
    # A call back from an unanswered transfer: its turns go on from the record's, and its
    # duration counts from the call's start (epoch seconds).
    first_seq: int = 0
    started_at: float | None = None
    end_reason: str = ""  # why the call ended, in words (set before the hooks' finish)

    def turns(self):
        """The call's TurnTracker, attached to the worker on first use."""
        if "turns" not in self.per_call:
            tracker = TurnTracker(self.contexts, first_seq=self.first_seq)
            tracker.attach(self.worker, self.processors)
            self.per_call["turns"] = tracker
        return self.per_call["turns"]


@dataclass
class BuiltCall:
    worker: engine.PipelineWorker
    transport: TwilioTransport
    controller: CallController
    live: LiveCall | None = None
    hooks: list = field(default_factory=list)
    recording: CallRecording | None = None

    async def run(self) -> None:
        await engine.run_worker(self.worker)

    async def finish(self, outcome: str, reason: str = "") -> None:
        """The call is over (`reason`: why, in words): close its recording and turns, then
        each hook's finish (errors logged only)."""
        if self.recording is not None:
            try:
                await self.recording.finish()
            except Exception:
                logger.exception("the call's recording failed to finish")
        if self.live is None:
            return
        self.live.end_reason = reason
        tracker = self.live.per_call.get("turns")
        if tracker is not None:
            tracker.finish()
        for hook in self.hooks:
            try:
                await hook.finish(self.live, outcome)
            except Exception:
                logger.exception(f"call hook {hook!r} failed at the end of the call")

    def release(self) -> None:
        """The call has ended and its hooks are done: break its reference cycles, so reference
        counting frees it now instead of the next full collection (agent/app/gc_tuning.py).
        Only the call's processors, worker and transport: never what the process holds
        for every call (`Services.cache`, `live.records`), nor `live.per_call` (a call's extraction may still be running)."""
        processors = [*_processor_tree(self.worker), self.transport]
        if self.live is not None:
            processors += self.live.processors  # after_output nodes are not in the pipeline
        release_objects({id(p): p for p in processors}.values())


def _processor_tree(worker) -> list:
    """The worker and every processor under its pipeline, nested pipelines included."""
    found: dict[int, object] = {id(worker): worker}
    stack = [worker.pipeline]
    while stack:
        processor = stack.pop()
        if id(processor) in found:
            continue
        found[id(processor)] = processor
        stack.extend(processor.processors)
    return list(found.values())


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


def _bind_messages(gb, graph: Graph, call: CallInfo, records: RecordsRuntime | None) -> None:
    """The call's message sink for its message-taking dialog (agent/records/outbox.py)."""
    if graph.messages is None:
        return
    for node in gb.nodes.values():
        for processor in node.processors:
            if not isinstance(processor, MessageTaker):
                continue
            if records is None:  # records start whenever a graph takes messages
                logger.error("call records are not running: messages cannot be stored")
                continue
            processor.bind_sink(
                CallMessages(
                    records.outbox,
                    call_sid=call.call_sid,
                    graph=graph.name,
                    from_number=call.from_number,
                    to_number=call.to_number,
                    sms_to=graph.messages.sms_to,
                )
            )


def build_call_pipeline(
    session, graph: Graph, start: tp.Start, resume: transfer_call.Resume | None = None
) -> BuiltCall:
    """Build (but do not start) the pipeline worker for a started Twilio stream (`resume`:
    the call is back from an unanswered transfer)."""
    services = session.services
    config = services.config
    metrics = services.metrics
    started = LOOP_CLOCK.now()  # a recording's sample 0: right after Twilio's `start`
    serializer = TwilioSerializer(
        start, hang_up=services.twilio.call(start.call_sid, start.account_sid or None)
    )
    transport = TwilioTransport(
        session.bridge,
        serializer,
        on_received=metrics.count_twilio_message,
        on_dropped=lambda reason: metrics.twilio_dropped.labels(reason).inc(),
    )
    direction, call_vars = outbound_call.call_details(start.custom_parameters)
    call = CallInfo(
        direction=direction,
        vars=call_vars,
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        account_sid=start.account_sid or None,
        from_number=start.custom_parameters.get("from"),
        to_number=start.custom_parameters.get("to"),
        line=line_from_parameters(start.custom_parameters, graph, services.wall_clock),
    )
    ctx = BuildContext(config, graph, call, services.cache, services.wall_clock)
    gb = build_graph(graph, ctx)
    settings = graph.call
    idle_s = idle_timeout_s(settings, config.silence_timeout_seconds)
    if idle_s != settings.idle_timeout_s:  # SILENCE_TIMEOUT_SECONDS, the graph setting none
        settings = settings.model_copy(update={"idle_timeout_s": idle_s})
    if graph.vars:  # `${call.vars.NAME}` in the greeting, voicemail, goodbye, idle prompt
        settings = render_settings(settings, call.vars)
    if call.line.greeting is not None:  # after hours: the after-hours greeting instead
        settings = settings.model_copy(update={"greeting": call.line.greeting})
        logger.info(f"after hours ({call.line.reason}): the after-hours greeting")
    # After hours with `take_message`: the greeting, then the message-taking dialog.
    message_at_start = (
        "after_hours" if call.line.take_message and graph.messages is not None else None
    )
    controller = CallController(
        settings,
        name="call",
        phrases=phrase_book_of(gb),
        message_at_start=message_at_start,
        # Back from an unanswered transfer: the greeting offers to take a message.
        offer_at_start="transfer_failed"
        if resume is not None and graph.messages is not None
        else None,
        # Transfers are offered only while the line is open (agent/graph/hours.py).
        destinations=graph.transfer_destination if call.line.open else None,
        # Outbound: no greeting at the start; the callee answer decides (outbound_call.py).
        greeting=graph.call.transfer_failed
        if resume is not None
        else ("" if call.direction == "outbound" else None),
        elapsed_s=resume.elapsed_s() if resume is not None else 0.0,
    )

    hold = None
    if any(d.warm for d in graph.transfer.values()):
        music = warm_transfer.hold_music_pcm(services.cache)
        hold = HoldMusic(music, name="hold")
        controller.transfers.bind_hold(hold)

    @controller.event_handler("on_transfer")
    async def _on_transfer(_controller, request):
        if request.warm:
            warm = warm_transfer.WarmCaller(services, graph, start, session.public_base, built)
            extraction = built.live.per_call.get("extraction") if built.live else None
            turns = [w for c in contexts[:1] for w in caller_words(c.get_messages())]
            brief = brief_text(
                call.from_number,
                extraction.snapshot if extraction is not None else None,
                turns,
                request.reason,
            )
            warm.begin(request, brief)
            session.warm = warm
            return
        transport.hand_off = transfer_call.hand_off_for(
            services.twilio, services.records, graph, start, session.public_base, request
        )
        session.hand_off = transport.hand_off

    async def hand_off_now() -> bool:
        """The cold transfer's update, once its phrase has played (processors/call_transfer.py);
        refused, the stream is still open: the caller is told and the call goes on."""
        hand_off = session.hand_off
        if hand_off is not None and await hand_off():
            return True
        transport.hand_off = None  # a later end of the call hangs up as usual
        await controller.transfers.failed(offer_message=graph.messages is not None)
        return False

    controller.transfers.hand_off_now = hand_off_now
    outbound_call.bind_do_not_call(services, call, controller)

    chain = list(gb.chain)
    if call.direction == "outbound" and resume is None:
        chain = outbound_call.bind_callee_answer(
            services, graph, call, settings, controller, chain, gb
        )
    pacer = chain[-1] if chain and isinstance(chain[-1], AudioPacer) else None
    if pacer is None:  # the graph has none (validation keeps a graph's own last)
        pacer = AudioPacer(name=IMPLICIT_PACER)
        chain.append(pacer)
    # The pacer's audio, marks and `clear` go straight to the socket, Twilio's echoes of
    # those marks straight back to it; a TTS that streams over a socket reads it at the
    # pace the pacer plays it out (processors/media_link.py).
    link: MediaLink = transport
    recording = None
    if graph.call.record and services.recordings is not None:
        writer = services.records.writer if services.records is not None else None
        if writer is not None:  # the record the recording's path goes in
            writer.enqueue(call_started(call, graph.name, time.time()))
        recording = services.recordings.start_call(start.call_sid, writer, started)
        link = recording.link(transport)
        transport.tap_caller_audio(recording.caller)
    trace = None
    if services.tracing is not None:
        trace = CallTrace(services.tracing, resumed=resume is not None)
        link = trace.wrap_link(link)
    pacer.link_to(link)
    pacer.on_send_lateness = metrics.pacer_send_lateness.observe
    for node in gb.nodes.values():
        if node.take_read_ahead is not None:
            node.take_read_ahead(pacer)
    contexts = [n.context for n in gb.nodes.values() if n.context is not None]
    if resume is not None and (history := resume.messages()):
        for context in contexts:  # before the greeting: the LLM knows what was said
            context.add_messages(history)
    _bind_messages(gb, graph, call, services.records)
    processors = [
        transport.input(),
        controller,
        *([hold] if hold is not None else []),
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
    built = BuiltCall(
        worker=worker, transport=transport, controller=controller, recording=recording
    )
    hooks = [*gb.hooks, trace] if trace is not None else gb.hooks
    if hooks or services.watchers:  # all hear the call's turns from its TurnTracker
        node_processors = [p for n in gb.nodes.values() for p in (*n.processors, *n.after_output)]
        callee = [p for p in chain if isinstance(p, CalleeAnswer)]  # outbound calls
        built.live = LiveCall(
            call, graph, worker, [controller, *callee, *node_processors], contexts, services.records
        )
        if resume is not None:
            built.live.first_seq = 1 + max((t["seq"] for t in resume.turns), default=-1)
            built.live.started_at = resume.started_at
        for hook in hooks:
            try:
                hook.attach(built.live)
            except Exception:  # a tap must never stop a call
                logger.exception(f"call hook {hook!r} could not attach; the call goes on")
            else:
                built.hooks.append(hook)
    return built
