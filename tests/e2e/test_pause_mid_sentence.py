"""A caller who pauses mid-sentence is not answered on the first half (one real-time call).

"I'm calling about" ... 1 s of silence ... "my bill from March.", three times in one call,
through the Twilio emulator against the fakes with the bench's latencies (Deepgram's final
0.25 s after the VAD's stop, Groq 0.2 s, Cartesia 0.1 s). The pause is longer than what the
graph waited before (the VAD's 0.2 s + the 0.4 s speech timeout); the words "calling about"
leave the sentence open, so the turn waits (`unfinished_turn_wait_s`, 1.2 s after the VAD's
stop: processors/turn_end.py). Checked: the agent is silent through every pause, the LLM
is asked only with the whole sentence, each answer is heard, and the call record keeps each
turn whole. With `TURN_END_BY_WORDS=false` this call gets the first half answered every time
(docs/decisions/faster-turns.md).

With Deepgram Flux (USE_DEEPGRAM_FLUX) the same scene: Flux's fake ends a turn after 0.3 s of
silence, so it ends the first half; the turn is held for the rest (agent/adapters/flux_turns.py)
and the two halves are one turn, while a complete question before them is answered at once.
With `TURN_END_BY_WORDS=false`, or with the Flux strategies before the hold, that call fails:
all 3 first halves answered (checked when it was added, 2026-12-07).
"""

from __future__ import annotations

from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from agent.sim.turns import turn_latencies
from processors.turn_end import WASTE_REASONS
from tests.conftest import caller_audio, context_audio
from tests.e2e.conftest import call_record

FIRST, SECOND = "I'm calling about", "my bill from March."
ANSWER = "Your March bill was sent on the first."
REPEATS = 3
PAUSE_S = 1.0
TOKEN = "admin-token-for-tests"


def _paused_sentences() -> list:
    """REPEATS times: the first half, a pause, the second half, then the agent's answer."""
    return [
        step
        for _ in range(REPEATS)
        for step in (
            Say(caller_audio("who_are_you"), FIRST),
            Pause(PAUSE_S),
            Say(caller_audio("how_much_does_it_cost"), SECOND),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.3, timeout=15),
        )
    ]


async def test_a_pause_mid_sentence_is_never_answered_on_the_first_half(fakes, start_server):
    server = await start_server(ADMIN_TOKEN=TOKEN)
    fakes.deepgram.final_latency_s = 0.25
    fakes.groq.first_token_latency_s = 0.2
    fakes.cartesia.first_audio_latency_s = 0.1
    # Deepgram-like interims: every word in an interim 0.15 s after the speech, before the
    # VAD's stop (and before the final: the turn must wait for it, not end on the first half).
    fakes.deepgram.catch_up_interim_ms = 150
    fakes.deepgram.set_script([FIRST, SECOND] * REPEATS)
    fakes.groq.replies = [("March", ANSWER)]
    scene = _paused_sentences()
    script = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10)]
    result = await server.emulator().place_call([*script, *scene, HangUp()], max_duration=90)
    assert not result.timeouts, result.timeouts

    # Silent through every pause: no agent audio from a first half's start to the second's.
    firsts = [t for kind, t, *rest in result.timeline if kind == "say_start" and rest[0] == FIRST]
    seconds = [t for kind, t, *rest in result.timeline if kind == "say_start" and rest[0] == SECOND]
    says = [e for e in result.timeline if e[0].startswith("say")]
    assert len(firsts) == len(seconds) == REPEATS, says
    wrong = [
        (start, end)
        for start, end in result.agent_speech_segments
        for a, b in zip(firsts, seconds, strict=True)
        if a < start < b
    ]
    assert wrong == [], f"answered a first half: agent audio at {wrong}"

    # Only whole sentences were answered: the TTS said nothing but the answer (speculative
    # requests on half a sentence may have reached the LLM; held, then discarded).
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert spoken and all(text.strip() == ANSWER for text in spoken), spoken
    assert result.heard.count(context_audio(fakes, ANSWER)) == REPEATS
    # Every speculative request was used or counted as wasted (/metrics).
    metrics, name = server.services.metrics, "switchboard_speculative_llm_requests_total"
    count = {o: metrics.value(name, outcome=o) for o in ("started", "confirmed")}
    wasted = sum(metrics.value(name, outcome=f"wasted_{r}") for r in WASTE_REASONS)
    assert count["started"] == count["confirmed"] + wasted, (count, wasted)

    # The record keeps each turn whole, the words as finally transcribed.
    record = await call_record(
        server,
        result.call_sid,
        lambda r: sum(t["role"] == "caller" for t in r["turns"]) >= REPEATS,
    )
    caller = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert caller == [f"{FIRST} {SECOND}"] * REPEATS, caller


QUESTION, HOURS = "What are your opening hours?", "We're open from nine to five."
HELD_TURN_S = 0.3 + 1.2  # Flux's fake ends a turn after 0.3 s of silence; a hold adds 1.2 s


async def test_with_flux_a_pause_mid_sentence_is_never_answered_on_the_first_half(
    fakes, start_server
):
    server = await start_server(ADMIN_TOKEN=TOKEN, USE_DEEPGRAM_FLUX="true")
    fakes.flux.final_latency_s = 0.25  # EndOfTurn / EagerEndOfTurn, as bench/turns.py
    fakes.groq.first_token_latency_s = 0.2
    fakes.cartesia.first_audio_latency_s = 0.1
    fakes.flux.set_script([QUESTION, *[FIRST, SECOND] * REPEATS])
    fakes.groq.replies = [("hours", HOURS), ("March", ANSWER)]
    scene = [
        Say(caller_audio("what_are_your_opening_hours"), QUESTION),
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.3, timeout=15),
    ]
    scene += _paused_sentences()
    script = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10)]
    result = await server.emulator().place_call([*script, *scene, HangUp()], max_duration=90)
    assert not result.timeouts, result.timeouts
    assert fakes.flux.connections and fakes.deepgram.connections == []
    # Flux ended each half as a turn of its own (the fake listens to silence only)
    assert fakes.flux.connections[0].finals == [QUESTION, *[FIRST, SECOND] * REPEATS]

    # Silent through every pause: no agent audio from a first half's start to the second's.
    firsts = [t for kind, t, *rest in result.timeline if kind == "say_start" and rest[0] == FIRST]
    seconds = [t for kind, t, *rest in result.timeline if kind == "say_start" and rest[0] == SECOND]
    assert len(firsts) == len(seconds) == REPEATS
    wrong = [
        (start, end)
        for start, end in result.agent_speech_segments
        for a, b in zip(firsts, seconds, strict=True)
        if a < start < b
    ]
    assert wrong == [], f"answered a first half: agent audio at {wrong}"

    # The complete question was not held: answered sooner than a held turn could end.
    [question] = [t for t in turn_latencies(result) if t.text == QUESTION]
    assert question.latency is not None and question.latency < HELD_TURN_S, question

    # One answer per whole sentence; the LLM never saw a first half as a turn of its own.
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert spoken.count(ANSWER) == REPEATS and set(spoken) == {HOURS, ANSWER}, spoken
    assert result.heard.count(context_audio(fakes, ANSWER)) == REPEATS
    alone = [
        request
        for request in fakes.groq.requests
        for m in request["messages"]
        if m.get("role") == "user" and str(m.get("content")).strip(" .") == FIRST
    ]
    assert alone == [], "an LLM request had the first half alone"
    metrics, name = server.services.metrics, "switchboard_speculative_llm_requests_total"
    count = {o: metrics.value(name, outcome=o) for o in ("started", "confirmed")}
    wasted = sum(metrics.value(name, outcome=f"wasted_{r}") for r in WASTE_REASONS)
    assert count["started"] == count["confirmed"] + wasted, (count, wasted)
    assert len(fakes.groq.requests) == 1 + REPEATS + wasted  # nothing asked on a first half

    # The record keeps each turn whole.
    record = await call_record(
        server,
        result.call_sid,
        lambda r: sum(t["role"] == "caller" for t in r["turns"]) >= 1 + REPEATS,
    )
    caller = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert caller == [QUESTION, *[f"{FIRST} {SECOND}"] * REPEATS], caller
