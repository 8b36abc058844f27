"""Every question gets an answer in local mode (issue 20): the first question of fresh calls,
calls in a row and calls at once, through the emulator against the keyless local graph with
real Whisper, the router, the scripted answers and Piper (the provider fakes are unused).

A local server once said nothing for 20 s to "What are your prices for home internet?" as the
first question of a call. Each call here starts with it; a wait for the agent's audio that
runs out (15 s) is an unanswered turn.
"""

from __future__ import annotations

import asyncio

import pytest

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence

pytestmark = pytest.mark.timeout(300)

QUESTIONS = ["What are your prices for home internet?", "What are your opening hours?"]


async def test_every_question_of_fresh_local_calls_is_answered(fakes, start_server):
    from agent.sim.voice import say_ulaw

    server = await start_server(DEFAULT_GRAPH="local")
    audio = [await asyncio.to_thread(say_ulaw, text) for text in QUESTIONS]
    steps = [WaitForAgentAudio(timeout=15), WaitForAgentSilence(pause=0.3, timeout=20)]
    for text, said in zip(QUESTIONS, audio, strict=True):
        steps += [
            Say(said, text),
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=20),
        ]

    async def call():
        return await server.emulator().place_call([*steps, HangUp()], max_duration=90)

    in_a_row = [await call() for _ in range(2)]
    at_once = await asyncio.gather(*(call() for _ in range(3)))
    for number, result in enumerate([*in_a_row, *at_once], 1):
        assert not result.timeouts, f"call {number}: {result.timeouts}"
        # the greeting and one answer per question, each heard
        answers = [t for kind, t, *_ in result.timeline if kind == "playback_start"]
        said = [t for kind, t, *_ in result.timeline if kind == "say_start"]
        assert all(any(a > s for a in answers) for s in said), (number, said, answers)
