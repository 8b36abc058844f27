"""Conversation control through the Twilio emulator: pacing, barge-in, idle prompts, hang-up, DTMF.

Each test is a real-time call against the real pipecat services and the provider fakes, so
they are few and each proves several things.
"""

from __future__ import annotations

import asyncio
import time

from agent.nodes.params import AudioPacerParams
from agent.sim.fakes.groq import ToolCall
from agent.sim.script import (
    BargeIn,
    Dtmf,
    HangUp,
    Pause,
    Say,
    WaitForAgentAudio,
    WaitForAgentSilence,
)
from tests.conftest import (
    caller_audio,
    context_audio,
    custom_graphs,
    heard_seconds_of,
    words_started_before,
)
from tests.e2e.conftest import call_record, rest_hangups

# Not "how much does it cost": the receptionist's router answers that from its audio cache
# (tests/e2e/test_router_call.py); these tests need the LLM's long answer.
QUESTION = "what are your opening hours"
LONG_ANSWER = (
    "Our basic plan costs twenty dollars a month and includes unlimited calls and voicemail. "
    "The premium plan adds call recording, analytics and a dedicated account manager for you."
)
STOPPED = "Okay, I will stop."
LEAD_S = AudioPacerParams.model_fields["lead_ms"].default / 1000  # the pacer's default
STALL_S = 0.15


def _greeting_then(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), *steps]


async def test_barge_in_clears_twilio_and_context_keeps_only_heard_words(fakes, start_server):
    server = await start_server()
    fakes.deepgram.set_script([QUESTION, "wait stop"])
    fakes.groq.replies = [("hours", LONG_ANSWER), ("wait", STOPPED)]
    result = await server.emulator().place_call(
        _greeting_then(
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            BargeIn(after_ms=2500, audio=caller_audio("wait_stop"), text="wait stop"),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            HangUp(),
        ),
        max_duration=45,
    )
    assert not result.timeouts, result.timeouts
    barge_start = next(
        t for kind, t, *rest in result.timeline if kind == "say_start" and rest == ["wait stop"]
    )
    # (pipecat also clears when any caller turn starts, harmlessly: nothing is playing then)
    clears = [t for t in result.clears if t > barge_start]
    assert clears, "no clear reached Twilio after the barge-in"
    clear_t = clears[0]
    assert clear_t < barge_start + 2.0

    # After the clear, Twilio receives only the next reply: none of the interrupted answer.
    stopped_audio = context_audio(fakes, STOPPED)
    after_clear = sum(e[2] for e in result.timeline if e[0] == "media_in" and e[1] > clear_t)
    assert len(stopped_audio) <= after_clear <= len(stopped_audio) + 160
    assert result.heard.endswith(stopped_audio) or stopped_audio[:-160] in result.heard

    # What the caller heard of the long answer: its audio's prefix, right before the clear.
    answer_audio = context_audio(fakes, "twenty dollars")
    heard_s = heard_seconds_of(result.heard, answer_audio)
    assert 0.5 < heard_s < len(answer_audio) / 8000 - 1  # really cut off mid-answer

    # The LLM's next request holds only the words the caller heard, flagged interrupted.
    messages = fakes.groq.requests[-1]["messages"]
    interrupted = [
        m for m in messages if m["role"] == "assistant" and "[interrupted]" in str(m["content"])
    ]
    assert len(interrupted) == 1, messages
    kept = interrupted[0]["content"].replace("[interrupted]", "").split()
    words = LONG_ANSWER.split()
    assert kept == words[: len(kept)], "the kept text is not a prefix of the answer"
    # Marks come every 250 ms: the kept words lag what was played by at most ~half a second.
    assert words_started_before(LONG_ANSWER, heard_s - 0.6) <= len(kept)
    assert len(kept) <= words_started_before(LONG_ANSWER, heard_s)

    # Both answers were timed from the caller's silence (the turn latency histogram).
    metrics = server.services.metrics
    assert metrics.value("switchboard_turn_latency_seconds_count") == 2
    assert 0.3 < metrics.value("switchboard_turn_latency_seconds_sum") < 2 * 3.0


async def test_event_loop_stalls_cause_no_underrun(fakes, start_server):
    server = await start_server()
    fakes.deepgram.set_script([QUESTION])
    fakes.groq.replies = [("hours", LONG_ANSWER)]
    loop = asyncio.get_running_loop()
    stalls = {"count": 0, "on": False}

    # A full garbage collection with 50-100 calls in one process stops it for ~50-100 ms
    # (switchboard_gc_pause_seconds); the default lead rides out longer stalls than that.
    def stall():
        if stalls["on"]:
            time.sleep(STALL_S)  # block the whole event loop: server, pacer and all
            stalls["count"] += 1
        loop.call_later(0.4, stall)

    loop.call_later(0.4, stall)

    script = _greeting_then(
        Say(caller_audio("what_are_your_opening_hours"), QUESTION),
        WaitForAgentAudio(timeout=10),
    )
    call = asyncio.ensure_future(
        server.emulator().place_call(
            [*script, WaitForAgentSilence(pause=0.2, timeout=20), HangUp()], max_duration=45
        )
    )
    # Stall only while the long answer plays (the greeting is ~2.2 s, the question ~1.3 s).
    await asyncio.sleep(5.0)
    stalls["on"] = True
    result = await call
    stalls["on"] = False
    assert stalls["count"] >= 10, "the stalls were not injected"
    assert not result.timeouts, result.timeouts
    assert result.underruns == [], result.underruns
    # Real-time pacing: Twilio never held much more than the pacer's lead.
    assert result.max_buffer_s < LEAD_S + 0.1
    assert context_audio(fakes, "twenty dollars") in result.heard


async def test_idle_prompts_count_from_the_played_mark_then_goodbye_and_hang_up(
    fakes, start_server, tmp_path
):
    # A 1 s lead makes "last sent" and "played" a second apart, so the test tells them apart.
    graphs = custom_graphs(
        tmp_path,
        call={"idle_timeout_s": 1.5, "max_idle_prompts": 1, "goodbye": "Goodbye for now."},
        nodes={"pacer": {"type": "audio_pacer", "lead_ms": 1000}},
        chain=["vad", "stt", "llm", "tts", "pacer"],
    )
    server = await start_server(GRAPHS_DIR=graphs)
    result = await server.emulator().place_call(_greeting_then(Pause(12)), max_duration=30)
    assert result.closed_by == "server"
    segments = result.agent_speech_segments
    assert len(segments) == 3, segments  # greeting, "Are you still there?", goodbye
    (_, greeting_end), (prompt_start, prompt_end), (bye_start, bye_end) = segments
    assert prompt_start - greeting_end >= 1.5  # counted from playback end, not the last send
    assert bye_start - prompt_end >= 1.5
    transcripts = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "Are you still there?" in transcripts

    # The goodbye played in full before the REST hang-up.
    assert context_audio(fakes, "Goodbye for now.") in result.heard
    [hangup] = await rest_hangups(fakes)
    assert hangup.call_sid == result.call_sid and hangup.status == 200
    assert hangup.form.get("Status") == "completed"
    assert hangup.at >= result.started_at + bye_end - 0.05
    metrics = server.services.metrics
    for _ in range(50):
        if metrics.value("switchboard_calls_total", outcome="agent_hung_up"):
            break
        await asyncio.sleep(0.1)
    assert metrics.value("switchboard_calls_total", outcome="agent_hung_up") == 1


async def test_llm_end_call_tool_plays_goodbye_then_hangs_up(fakes, start_server):
    server = await start_server(ADMIN_TOKEN="t" * 24)
    goodbye = "Thanks for calling Acme, goodbye!"
    fakes.deepgram.set_script(["goodbye"])
    fakes.groq.replies = [("goodbye", ToolCall("end_call", {"goodbye": goodbye}))]
    result = await server.emulator().place_call(
        _greeting_then(Say(caller_audio("goodbye"), "goodbye"), Pause(15)), max_duration=30
    )
    assert result.closed_by == "server"
    bye_audio = context_audio(fakes, goodbye)
    assert bye_audio in result.heard
    [hangup] = await rest_hangups(fakes)
    last_end = result.agent_speech_segments[-1][1]
    assert hangup.at >= result.started_at + last_end - 0.05
    # The record has the goodbye's words (not a blank turn) and why the call ended.
    call = await call_record(server, result.call_sid, lambda c: c["outcome"] is not None)
    assert (call["turns"][-1]["source"], call["turns"][-1]["text"]) == ("call", goodbye)
    assert (call["outcome"], call["end_reason"]) == ("agent_hung_up", "the agent ended the call")


async def test_dtmf_mapped_and_unmapped(fakes, start_server, tmp_path):
    office = "Our office is at one Main Street."
    graphs = custom_graphs(
        tmp_path,
        call={
            "dtmf": {
                "0": {"say": office},
                "9": {"say": "Goodbye from the keypad.", "action": "hang_up"},
            }
        },
    )
    server = await start_server(GRAPHS_DIR=graphs)
    fakes.groq.replies = [("pressed 5", "You pressed five. How can I help?")]
    result = await server.emulator().place_call(
        _greeting_then(
            Dtmf("5"),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            Dtmf("0"),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            Dtmf("9"),
            Pause(10),
        ),
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    # Unmapped: the LLM was told, and answered.
    assert any(
        "The caller pressed 5" in str(m.get("content"))
        for r in fakes.groq.requests
        for m in r["messages"]
    )
    assert context_audio(fakes, "You pressed five") in result.heard
    # Mapped: the phrase, with no LLM request for it; then the keypad hang-up.
    assert len(fakes.groq.requests) == 1
    assert context_audio(fakes, office) in result.heard
    assert context_audio(fakes, "Goodbye from the keypad.") in result.heard
    assert result.closed_by == "server"
    assert len(await rest_hangups(fakes)) == 1
