"""The intent router in whole calls through the Twilio emulator (real time, so few tests).

A hit plays the cached phrase byte for byte and never reaches the LLM (the Groq fake gets no
request for it); a miss does; a `stop` route plays its phrase in full, then the REST hang-up,
and the caller's number is on the do-not-call list.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.records.dnc import DncList
from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.conftest import rest_hangups

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "audio_cache"
COST = "how much does it cost"
HOURS = "what are your opening hours"
HOURS_ANSWER = "We're open from nine to five, Monday to Friday."


@pytest.fixture
def routers(monkeypatch) -> list:
    """Every IntentRouter the server builds (one per call), to read its hits."""
    from processors.router import IntentRouter

    made: list = []
    original = IntentRouter.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(IntentRouter, "__init__", init)
    return made


def _after_greeting(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=10), *steps]


def _answer(*steps):
    return [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.2, timeout=15), *steps]


def _answer_delay(result, said: str) -> float:
    """From the end of the caller's words to the start of the agent's next audio."""
    end = next(e[1] for e in result.timeline if e[0] == "say_end" and e[2] == said)
    return next(start for start, _ in result.agent_speech_segments if start > end) - end


def cached(name: str) -> bytes:
    return (CACHE / f"{name}.ulaw").read_bytes()


async def test_hit_plays_cached_audio_without_the_llm_and_a_miss_reaches_it(
    fakes, start_server, routers
):
    server = await start_server()
    fakes.deepgram.set_script([COST, HOURS])
    fakes.groq.replies = [("hours", HOURS_ANSWER)]
    result = await server.emulator().place_call(
        _after_greeting(
            Say(caller_audio("how_much_does_it_cost"), COST),
            *_answer(
                Say(caller_audio("what_are_your_opening_hours"), HOURS),
                *_answer(HangUp()),
            ),
        ),
        max_duration=40,
    )
    assert not result.timeouts, result.timeouts
    # The pricing answer: exactly the cached bytes, with no LLM and no TTS request for it.
    assert cached("pricing") in result.heard
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert "twenty dollars" not in spoken
    # Only the miss reached the LLM, whose context already held the routed exchange.
    [request] = fakes.groq.requests
    messages = request["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users == [COST, HOURS]
    assert {"role": "assistant", "content": _say("pricing")} in messages
    assert any(HOURS_ANSWER in text for text in fakes.cartesia.transcripts_by_context().values())
    # The cached answer starts as soon as the STT's final is in (the caller's audio ends with
    # silence; VAD stop and the final come within it), well before the LLM's answer would.
    [routed] = [hit for router in routers for hit in router.hits]
    assert routed.route == "pricing" and routed.cached and routed.seconds < 0.05
    routed_s, llm_s = (_answer_delay(result, said) for said in (COST, HOURS))
    assert routed_s < 0.6 and routed_s < llm_s - 0.3, (routed_s, llm_s)


async def test_stop_route_plays_its_goodbye_in_full_then_hangs_up(fakes, start_server):
    server = await start_server()
    fakes.deepgram.set_script(["Please stop calling me."])
    result = await server.emulator().place_call(
        _after_greeting(Say(caller_audio("stop_calling_me"), "stop calling me"), Pause(12)),
        max_duration=30,
    )
    assert result.closed_by == "server"
    assert cached("stop") in result.heard  # all of it
    assert result.marks_echoed[-1].endswith("-end")  # the utterance's final mark, played
    assert not fakes.groq.requests
    [hangup] = await rest_hangups(fakes)
    assert hangup.call_sid == result.call_sid and hangup.form.get("Status") == "completed"
    bye_end = result.agent_speech_segments[-1][1]
    assert hangup.at >= result.started_at + bye_end - 0.05  # after the phrase had played
    metrics = server.services.metrics
    for _ in range(50):
        if metrics.value("switchboard_calls_total", outcome="agent_hung_up"):
            break
        await asyncio.sleep(0.1)
    assert metrics.value("switchboard_calls_total", outcome="agent_hung_up") == 1
    # "We won't call you again" is true: the caller's number is on the do-not-call list.
    entries = await DncList(server.services.records.store.engine).list()
    assert [(e.number, e.source) for e in entries] == [(result.parameters["from"], "route:stop")]


def _say(route: str) -> str:
    from agent.phrases.routes import load_routes

    return load_routes(CACHE / "routes.yaml").routes[route].say
