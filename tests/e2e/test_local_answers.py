"""Every question gets an answer in local mode (issue 20): the first question of fresh calls,
calls in a row and calls at once, through the emulator against the keyless local graph with
real Whisper, the router, the scripted answers and Piper (the provider fakes are unused).

A local server once said nothing for 20 s to "What are your prices for home internet?" as the
first question of a call. Each call here starts with it; a wait for the agent's audio that
runs out (15 s) is an unanswered turn.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.e2e.conftest import cached

pytestmark = pytest.mark.timeout(300)

QUESTION = "What are your prices for home internet?"


async def test_the_first_question_of_fresh_local_calls_is_answered(fakes, start_server):
    from agent.sim.voice import say_ulaw

    server = await start_server(DEFAULT_GRAPH="local")
    question = await asyncio.to_thread(say_ulaw, QUESTION)
    steps = [
        WaitForAgentAudio(timeout=15),
        WaitForAgentSilence(pause=0.3, timeout=20),  # the greeting
        Say(question, QUESTION),
        WaitForAgentAudio(timeout=15),  # answered: its audio plays
        Pause(0.5),
        HangUp(),
    ]

    async def call():
        return await server.emulator().place_call(steps, query={}, max_duration=60)

    in_a_row = [await call() for _ in range(2)]
    at_once = await asyncio.gather(*(call() for _ in range(3)))
    for number, result in enumerate([*in_a_row, *at_once], 1):
        assert not result.timeouts, f"call {number}: {result.timeouts}"
        said = next(t for kind, t, *_ in result.timeline if kind == "say_start")
        answers = [t for kind, t, *_ in result.timeline if kind == "playback_start" and t > said]
        assert answers, (number, said)
        assert cached("fallback")[:4000] not in result.heard  # answered, not the fallback


async def test_a_question_whisper_hears_no_words_in_gets_the_fallback(
    fakes, start_server, tmp_path
):
    # The silent case itself: Whisper drops the first question's segment (here: every
    # segment, no_speech_prob 0). The turn ends with no words and nothing answers it; the
    # agent used to stay silent until the caller spoke again (idle prompts start only after
    # the agent spoke). Now the fallback comes once the turn has gone unanswered 8 s.
    from agent.sim.voice import say_ulaw
    from processors.idle_timer import ANSWER_TIMEOUT_S
    from tests.conftest import ROOT

    graphs = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", graphs)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    local = graphs / "local.yaml"
    deaf = "stt: {type: whisper_stt, no_speech_prob: 0.0}"
    local.write_text(local.read_text().replace("stt: {type: whisper_stt}", deaf))
    server = await start_server(DEFAULT_GRAPH="local", GRAPHS_DIR=str(graphs))
    question = await asyncio.to_thread(say_ulaw, QUESTION)
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=15),
            WaitForAgentSilence(pause=0.3, timeout=20),
            Say(question, QUESTION),
            WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S + 6),
            WaitForAgentSilence(pause=0.3, timeout=20),  # the whole fallback
            HangUp(),
        ],
        query={},  # the server's default graph: local
        max_duration=60,
    )
    assert not result.timeouts, result.timeouts
    assert cached("fallback") in result.heard  # the graph's fallback, from the audio cache
    said = next(t for kind, t, *_ in result.timeline if kind == "say_start")
    answered = [t for kind, t, *_ in result.timeline if kind == "playback_start" and t > said]
    assert answered and answered[0] > said + ANSWER_TIMEOUT_S - 1  # the fallback, not a reply
