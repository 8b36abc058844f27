"""A whole call through the Twilio emulator, the real pipecat services and the provider fakes.

The caller hears the greeting, asks a question in real speech, hears the answer's audio and
hangs up. The pipeline must end with no task left behind.
"""

from __future__ import annotations

import asyncio
import audioop

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio

# Not "how much does it cost": the receptionist's router answers that from its audio cache.
QUESTION = "what are your opening hours"
ANSWER = "We're open from nine to five, Monday to Friday."


def _tasks() -> set[asyncio.Task]:
    """Live tasks, minus the test servers' own per-connection handlers (keep-alive sockets)."""
    return {
        t
        for t in asyncio.all_tasks()
        if not t.done() and not t.get_coro().__qualname__.startswith("RequestHandler.")
    }


async def test_caller_asks_and_hears_the_answer(fakes, start_server, monkeypatch):
    from agent.twilio.transport import TwilioInputTransport, TwilioOutputTransport
    from processors.frames import TwilioMarkFrame
    from processors.pacer import AudioPacer

    # The pacer writes agent audio to the socket itself; none may go through pipecat's
    # output transport (its per-chunk queues are what the direct path avoids).
    through_output_transport: list = []
    monkeypatch.setattr(
        TwilioOutputTransport,
        "write_audio_frame",
        lambda self, frame: through_output_transport.append(frame),
    )
    # Twilio's mark echoes go straight to the pacer, not as frames down the pipeline.
    marks_as_frames: list = []
    echoes: list = []
    push_frame, take_echo = TwilioInputTransport.push_frame, AudioPacer.take_echo

    async def recording_push(self, frame, *args, **kwargs):
        if isinstance(frame, TwilioMarkFrame):
            marks_as_frames.append(frame)
        return await push_frame(self, frame, *args, **kwargs)

    async def recording_echo(self, frame):
        echoes.append(frame)
        return await take_echo(self, frame)

    monkeypatch.setattr(TwilioInputTransport, "push_frame", recording_push)
    monkeypatch.setattr(AudioPacer, "take_echo", recording_echo)
    pacers: list[AudioPacer] = []
    pacer_init = AudioPacer.__init__

    def recording_init(self, *args, **kwargs):
        pacer_init(self, *args, **kwargs)
        pacers.append(self)

    monkeypatch.setattr(AudioPacer, "__init__", recording_init)
    server = await start_server()
    fakes.groq.replies = [("hours", ANSWER)]
    emulator = server.emulator()
    before = _tasks()

    # The Deepgram fake picks the transcript by the call's tag (the CallSid).
    call_sid_holder: dict = {}
    original_form = emulator.webhook_form

    def webhook_form(call_sid, from_, to):
        call_sid_holder["sid"] = call_sid
        fakes.deepgram.set_script([QUESTION], tag=call_sid)
        return original_form(call_sid, from_, to)

    emulator.webhook_form = webhook_form
    result = await emulator.place_call(
        [
            WaitForAgentAudio(timeout=10),  # the greeting starts...
            WaitForAgentSilence(pause=0.3, timeout=10),  # ...and ends
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            WaitForAgentAudio(timeout=10),  # the answer starts...
            WaitForAgentSilence(pause=0.3, timeout=15),  # ...and ends
            HangUp(),
        ],
        query={"graph": "receptionist"},
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert not result.protocol_errors, result.protocol_errors
    assert result.closed_by == "caller"

    # The LLM saw the caller's words, with the graph's system prompt first.
    request = fakes.groq.requests[-1]
    messages = request["messages"]
    assert messages[0]["role"] == "system"
    assert any(m["role"] == "user" and QUESTION in str(m["content"]) for m in messages)

    # The caller heard exactly the audio Cartesia produced for the answer.
    answer_contexts = [
        ctx
        for ctx, text in fakes.cartesia.transcripts_by_context().items()
        if "nine to five" in text
    ]
    assert answer_contexts, fakes.cartesia.transcripts_by_context()
    answer_ulaw = audioop.lin2ulaw(fakes.cartesia.audio_by_context[answer_contexts[0]], 2)
    assert len(answer_ulaw) > 2 * 8000 and answer_ulaw in result.heard  # byte for byte
    # Cartesia sent the answer at once; the TTS read it at the pace it played out.
    [pacer] = pacers
    assert pacer.stats.read_pauses > 0 and pacer.stats.max_read_ahead_s <= 1.0 + 0.2
    assert len(result.agent_speech_segments) >= 2  # greeting, then the answer
    assert result.underruns == []

    # Outcome counted; the pipeline left no task behind.
    metrics = server.services.metrics
    for _ in range(50):
        if metrics.value("switchboard_calls_total", outcome="caller_hung_up") == 1:
            break
        await asyncio.sleep(0.1)
    assert metrics.value("switchboard_calls_total", outcome="caller_hung_up") == 1
    assert through_output_transport == []
    assert marks_as_frames == [] and len(echoes) >= 2 and all(e.played for e in echoes)
    # Every 20 ms chunk the caller heard left the pacer with a send-lateness observation.
    assert (
        metrics.value("switchboard_pacer_send_lateness_seconds_count") == len(result.heard) // 160
    )
    # One caller turn answered: one turn-latency observation, and a plausible one.
    assert metrics.value("switchboard_turn_latency_seconds_count") == 1
    assert 0.2 < metrics.value("switchboard_turn_latency_seconds_sum") < 5
    assert not server.services.calls
    await asyncio.sleep(0.2)
    leftover = {t for t in _tasks() - before if "test" not in t.get_name()}
    assert not leftover, [t.get_name() for t in leftover]


async def test_flux_graph_variant_answers_a_call(fakes, start_server):
    """USE_DEEPGRAM_FLUX=true: Deepgram Flux (v2 socket) decides the end of the caller's turn."""
    server = await start_server(USE_DEEPGRAM_FLUX="true")
    fakes.flux.set_script([QUESTION])
    fakes.groq.replies = [("hours", ANSWER)]
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.3, timeout=10),
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.3, timeout=15),
            HangUp(),
        ],
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    assert fakes.flux.connections, "the Flux socket (/v2/listen) was never opened"
    assert fakes.deepgram.connections == []
    assert any(QUESTION in str(m["content"]) for m in fakes.groq.requests[-1]["messages"])
    assert len(result.agent_speech_segments) >= 2
    # SPECULATIVE_ANSWERS (default): Flux predicts the end (EagerEndOfTurn), the LLM answers
    # it then, and EndOfTurn with the same words releases that answer: one request, used.
    assert "eager_eot_threshold" in fakes.flux.connections[0].query
    metrics, name = server.services.metrics, "switchboard_speculative_llm_requests_total"
    assert metrics.value(name, outcome="started") == metrics.value(name, outcome="confirmed") == 1
    assert len(fakes.groq.requests) == 1


async def _greeting_call(server):
    """Place a call that hears the greeting and hangs up; once its pipeline is built: the
    call (a future) and the server's session for it."""
    call = asyncio.ensure_future(
        server.emulator().place_call(
            [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.3, timeout=10), HangUp()],
            max_duration=20,
        )
    )
    while not any(s.built for s in server.services.calls) and not call.done():
        await asyncio.sleep(0.02)
    [session] = server.services.calls
    return call, session


async def test_processors_in_direct_mode_run_no_frame_tasks_of_their_own(fakes, start_server):
    """The call controller, VAD, router, context window, pacer, heard-context editor and the
    TTS's first-clause aggregator handle frames in the pushing task (pipecat's direct mode):
    caller audio crosses no queue and task of theirs. Services that keep their queues (the
    STT) show the check can see such tasks."""
    from pipecat.processors.aggregators.llm_text_processor import LLMTextProcessor
    from pipecat.processors.audio.vad_processor import VADProcessor

    from processors.call_control import CallController
    from processors.context_window import ContextWindow
    from processors.heard_context import HeardContextEditor
    from processors.pacer import AudioPacer
    from processors.router import IntentRouter

    direct_types = (
        CallController,
        VADProcessor,
        IntentRouter,
        ContextWindow,
        AudioPacer,
        HeardContextEditor,
        LLMTextProcessor,
    )
    server = await start_server()
    call, session = await _greeting_call(server)
    await asyncio.sleep(1.0)  # the greeting is playing: every processor has started
    processors, p = [], session.built.controller
    while p is not None:
        processors.append(p)
        p = p.next
    input_tasks = {
        t.get_name().split("::")[0]
        for t in asyncio.all_tasks()
        if t.get_name().endswith("input_frame_task_handler")
    }
    direct = [p for p in processors if isinstance(p, direct_types)]
    assert {type(p) for p in direct} == set(direct_types)
    assert not [str(p) for p in direct if str(p) in input_tasks]
    assert any(str(p) in input_tasks for p in processors if "STT" in type(p).__name__)
    # Tracing off (no OTEL_* variables): nothing of it is attached to the call.
    from agent.adapters.openai_llm import ResilientGroqLLMService
    from agent.telemetry.call_trace import CallTrace
    from agent.telemetry.stages import TracedLink

    assert server.services.tracing is None
    assert not any(isinstance(hook, CallTrace) for hook in session.built.hooks)
    [pacer] = [p for p in processors if isinstance(p, AudioPacer)]
    assert not isinstance(pacer._sender.link, TracedLink)
    [llm] = [p for p in processors if isinstance(p, ResilientGroqLLMService)]
    assert llm.probe is None
    result = await call
    assert not result.timeouts, result.timeouts


async def test_an_ended_call_is_freed_by_reference_counting(fakes, start_server):
    """A call's processors link to each other both ways (a cycle), so without help only a
    full collection frees them; the server breaks those links when the call ends
    (BuiltCall.release), and its objects go the moment the last reference does."""
    import gc
    import weakref

    server = await start_server()
    call, session = await _greeting_call(server)
    controller, p = session.built.controller, session.built.controller
    processors = []
    while p is not None:
        processors.append(weakref.ref(p))
        p = p.next
    session = p = None
    gc.collect()
    gc.disable()  # from here on only reference counting frees anything
    try:
        result = await call
        assert not result.timeouts, result.timeouts
        while server.services.calls:
            await asyncio.sleep(0.02)
        assert len(processors) > 10
        assert controller.__dict__ == {}  # released: nothing may use it after the call
        controller = None
        await asyncio.sleep(0.1)  # the call's last tasks finish unwinding
        alive = [type(r()).__name__ for r in processors if r() is not None]
        assert alive == []
    finally:
        gc.enable()
