"""Every question gets an answer or the fallback in local mode (issue 20): the first question
of fresh calls, calls in a row and calls at once, through the emulator against the keyless
local graph with real Whisper, the router, the scripted answers and Piper.

A local server once said nothing for 20 s to "What are your prices for home internet?" as the
first question of a call. Each call here starts with it; a wait for the agent's audio that
runs out (30 s: Whisper and Piper share 2 cores with three calls and the test suite; a
heavily loaded machine made Whisper's words 13 s late, and the fallback may then come before
the answer) is an unanswered turn. Beside the three calls at once, a call to a copy of
the graph whose Whisper drops every segment: the turn ends with no words and nothing answers
it; the agent used to stay silent until the caller spoke again (docs/decisions/
unanswered-turns.md). One server, one test: real Whisper and Piper calls are slow.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from agent.sim.script import HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from processors.idle_timer import ANSWER_TIMEOUT_S
from tests.conftest import ROOT
from tests.e2e.conftest import cached

pytestmark = pytest.mark.timeout(300)

QUESTION = "What are your prices for home internet?"


def graphs_with_a_deaf_copy(tmp_path) -> str:
    """graphs/ plus `local_deaf`: the local graph with Whisper dropping every segment."""
    graphs = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", graphs)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    text = (graphs / "local.yaml").read_text()
    deaf = text.replace("name: local\n", "name: local_deaf\n").replace(
        "stt: {type: whisper_stt}", "stt: {type: whisper_stt, no_speech_prob: 0.0}"
    )
    assert deaf.count("local_deaf") == 1 and "no_speech_prob: 0.0" in deaf
    (graphs / "local_deaf.yaml").write_text(deaf)
    return str(graphs)


async def test_every_first_question_of_local_calls_gets_an_answer(fakes, start_server, tmp_path):
    from agent.sim.voice import say_ulaw

    server = await start_server(DEFAULT_GRAPH="local", GRAPHS_DIR=graphs_with_a_deaf_copy(tmp_path))
    question = await asyncio.to_thread(say_ulaw, QUESTION)
    greeting = [WaitForAgentAudio(timeout=15), WaitForAgentSilence(pause=0.3, timeout=20)]
    ask = [
        *greeting,
        Say(question, QUESTION),
        WaitForAgentAudio(timeout=30),  # answered (or the fallback): its audio plays
        Pause(0.5),
        HangUp(),
    ]
    unheard = [
        *greeting,
        Say(question, QUESTION),
        WaitForAgentAudio(timeout=ANSWER_TIMEOUT_S + 20),
        WaitForAgentSilence(pause=0.3, timeout=20),  # the whole fallback
        HangUp(),
    ]

    async def call(steps, graph=None):
        query = {"graph": graph} if graph else {}  # {}: the server's default, local
        return await server.emulator().place_call(steps, query=query, max_duration=60)

    in_a_row = [await call(ask) for _ in range(2)]
    deaf, *at_once = await asyncio.gather(
        call(unheard, "local_deaf"), *(call(ask) for _ in range(3))
    )
    for number, result in enumerate([*in_a_row, *at_once], 1):
        assert not result.timeouts, f"call {number}: {result.timeouts}"
        said = next(t for kind, t, *_ in result.timeline if kind == "say_start")
        assert any(kind == "playback_start" and t > said for kind, t, *_ in result.timeline)

    # Whisper heard no words: the fallback, once the turn had gone unanswered 8 s.
    assert not deaf.timeouts, deaf.timeouts
    said = next(t for kind, t, *_ in deaf.timeline if kind == "say_start")
    answered = [t for kind, t, *_ in deaf.timeline if kind == "playback_start" and t > said]
    assert answered and answered[0] > said + ANSWER_TIMEOUT_S - 1
    assert cached("fallback") in deaf.heard
