"""Groq failing in a live call: one retry within the turn's budget, then the cached fallback
phrase, and the call goes on (agent/nodes/llm_resilience.py, the call controller).

One call, six questions, each meeting a different fault of the Groq fake (``fail_next`` is
consumed one request at a time; "ok" is a request answered normally).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.records.test_call_records import TOKEN, get_json, wait_for

ROOT = Path(__file__).resolve().parents[2]
HOURS = "what are your opening hours"
HOURS_ANSWER = "We're open from nine to five, Monday to Friday."
FALLBACK = (ROOT / "audio_cache" / "fallback.ulaw").read_bytes()

pytestmark = pytest.mark.timeout(150)


def ask() -> list:
    return [
        Say(caller_audio("what_are_your_opening_hours"), HOURS),
        WaitForAgentAudio(timeout=12),
        WaitForAgentSilence(pause=0.3, timeout=20),
    ]


async def test_each_llm_fault_gets_a_retry_or_the_fallback_and_the_call_goes_on(
    fakes, start_server, controllers
):
    # Speculative answers off: this call plans which request meets which fault. (A failed
    # speculative request is withdrawn silently and the confirmed turn asks again:
    # tests/adapters/test_listening_turns.py.)
    server = await start_server(ADMIN_TOKEN=TOKEN, SPECULATIVE_ANSWERS="false")
    fakes.deepgram.set_script([HOURS] * 6)
    fakes.groq.replies = [("hours", HOURS_ANSWER)]
    fakes.groq.retry_after_s = 0.5
    fakes.groq.fail_next = [
        "500", "ok",        # 1: a 500, retried at once: answered
        "500", "500",       # 2: two 500s: fallback
        "429", "ok",        # 3: a 429 with Retry-After 0.5 s, which fits: answered
        "hang", "hang",     # 4: hangs twice: fallback when the 4 s budget is spent
        "cut",              # 5: stream cut after text: not repeated, fallback
        "ok",               # 6: all well again
    ]  # fmt: skip
    script = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.3, timeout=10)]
    for _ in range(6):
        script += ask()
    result = await server.emulator().place_call([*script, HangUp()], max_duration=120)

    assert not result.timeouts, result.timeouts  # every question got audio back
    assert fakes.groq.fail_next == []  # every planned request happened
    assert len(fakes.groq.requests) == 10
    [controller] = controllers
    assert [stage for stage, _ in controller.failures] == ["llm", "llm", "llm"]
    reasons = [reason for _, reason in controller.failures]
    assert reasons[0] == "http_500" and reasons[1] == "timeout"
    assert reasons[2].startswith("stream_cut_after_text")
    # The fallback played from the cache (byte for byte) once per failed turn.
    assert result.heard.count(FALLBACK) == 3
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert sum("Monday to Friday" in text for text in spoken) == 3  # turns 1, 3 and 6
    # The hung turn: the fallback began within the budget (4 s) plus turn-taking.
    says = [e for e in result.timeline if e[0] == "say_end"]
    hung_end = says[3][1]
    start = next(s for s, _ in result.agent_speech_segments if s > hung_end)
    assert 3.5 < start - hung_end < 5.5
    assert result.closed_by == "caller"

    # The record says which turns failed and why: each fallback is an agent turn of its own.
    async def recorded():
        status, call = await get_json(server.base_url, f"/calls/{result.call_sid}", TOKEN)
        return call if status == 200 and call["outcome"] else None

    call = await wait_for(recorded, 10)
    failed = [t for t in call["turns"] if t["failure"]]
    assert [t["failure"].split(":")[0] for t in failed] == ["llm", "llm", "llm"]
    assert [t["source"] for t in failed[:2]] == ["fallback", "fallback"]
    assert failed[0]["text"] == "Sorry, I'm having trouble. Could you say that again?"
    assert failed[2]["source"] == "llm" and failed[2]["interrupted"] is False  # the cut reply


async def test_the_retry_can_ask_a_fallback_model(fakes, start_server, tmp_path):
    from tests.conftest import custom_graphs

    graphs = custom_graphs(tmp_path, nodes={"llm": {"fallback_model": "llama-3.1-8b-instant"}})
    server = await start_server(GRAPHS_DIR=graphs)
    fakes.deepgram.set_script([HOURS])
    fakes.groq.replies = [("hours", HOURS_ANSWER)]
    fakes.groq.fail_next = ["500"]
    script = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.3, timeout=10), *ask()]
    result = await server.emulator().place_call([*script, HangUp()], max_duration=40)
    assert not result.timeouts, result.timeouts
    models = [r["model"] for r in fakes.groq.requests]
    assert models == ["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert any("Monday to Friday" in text for text in spoken)
