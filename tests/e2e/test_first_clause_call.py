"""First-clause TTS end to end (cartesia_tts `first_clause`, processors/first_clause.py):
the caller hears an answer's first clause while the LLM is still writing its first sentence,
and a barge-in during the sentence's second part keeps exactly the heard words in the context.

Real-time calls through the Twilio emulator, the real pipecat services and the provider fakes
(the Groq fake streams its answer a token at a time).
"""

from __future__ import annotations

from agent.sim.script import BargeIn, HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from agent.sim.turns import turn_latencies
from tests.conftest import (
    CHAR_S,
    caller_audio,
    context_audio,
    heard_seconds_of,
    words_started_before,
)

QUESTION = "what are your opening hours"
CLAUSE = "Our basic plan costs twenty dollars a month, "
REST = "and it includes unlimited calls, voicemail and call recording for every line you have."
ANSWER = CLAUSE + REST


def _greeting_then(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), *steps]


def _answer_context(fakes, needle: str):
    [ctx] = [c for c in fakes.cartesia.contexts.values() if needle in "".join(c.transcripts)]
    return ctx


async def test_the_first_clause_is_heard_before_the_first_sentence_is_written(fakes, start_server):
    server = await start_server()
    fakes.deepgram.set_script([QUESTION])
    fakes.groq.replies = [("hours", ANSWER)]
    fakes.groq.token_interval_s = 0.08  # a slow LLM: the sentence's 2nd part takes ~1.3 s
    result = await server.emulator().place_call(
        _greeting_then(
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.3, timeout=20),
            HangUp(),
        ),
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts

    ctx = _answer_context(fakes, "twenty dollars")
    assert ctx.transcripts == [CLAUSE, REST]  # the clause, then the rest as a continuation
    [turn] = [t for t in turn_latencies(result) if t.text == QUESTION]
    first_audio_heard = result.started_at + turn.agent_start
    # The caller heard the answer before the rest of its first sentence reached the TTS.
    assert first_audio_heard < ctx.transcript_times[1]
    assert context_audio(fakes, "twenty dollars") in result.heard  # all of it, in order


async def test_a_barge_in_during_the_second_part_keeps_exactly_the_heard_words(fakes, start_server):
    server = await start_server()
    fakes.deepgram.set_script([QUESTION, "wait stop"])
    fakes.groq.replies = [("hours", ANSWER), ("wait", "Okay, I will stop.")]
    clause_s = len(CLAUSE) * CHAR_S  # 3.15 s
    result = await server.emulator().place_call(
        _greeting_then(
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            BargeIn(after_ms=int(clause_s * 1000) + 1200, audio=caller_audio("wait_stop")),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            HangUp(),
        ),
        max_duration=45,
    )
    assert not result.timeouts, result.timeouts
    ctx = _answer_context(fakes, "twenty dollars")
    assert ctx.transcripts[0] == CLAUSE and ctx.cancelled  # split, then cut off

    # What the caller heard of the answer: its audio's prefix, up to the clear.
    answer_audio = context_audio(fakes, "twenty dollars")
    heard_s = heard_seconds_of(result.heard, answer_audio)
    assert clause_s + 0.5 < heard_s < len(ANSWER) * CHAR_S - 1  # cut in the second part

    messages = fakes.groq.requests[-1]["messages"]
    interrupted = [
        m for m in messages if m["role"] == "assistant" and "[interrupted]" in str(m["content"])
    ]
    assert len(interrupted) == 1, messages
    kept = interrupted[0]["content"].replace("[interrupted]", "").split()
    words = ANSWER.split()
    assert kept == words[: len(kept)], "the kept text is not a prefix of the answer"
    assert len(kept) > len(CLAUSE.split())  # the whole clause and words of the second part
    # Words placed on the context's one timeline across both inputs: the kept words are
    # those that started before the heard audio ended, give or take the marks' 250 ms.
    assert words_started_before(ANSWER, heard_s - 0.6) <= len(kept)
    assert len(kept) <= words_started_before(ANSWER, heard_s)
