"""Deepgram failing in a live call (agent/adapters/deepgram.py): a dropped socket is
reconnected within a second and the unfinalized audio replayed, so the question is still
answered; a Deepgram that will not come back ends the call with the cached apology."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.test_llm_faults import HOURS, HOURS_ANSWER

ROOT = Path(__file__).resolve().parents[2]
TROUBLE = (ROOT / "audio_cache" / "trouble_goodbye.ulaw").read_bytes()
QUESTION = caller_audio("what_are_your_opening_hours")

pytestmark = pytest.mark.timeout(90)

GREETING = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.3, timeout=10)]


async def test_a_dropped_socket_mid_question_loses_no_words(fakes, start_server, controllers):
    server = await start_server()
    fakes.deepgram.set_script([HOURS])
    fakes.groq.replies = [("hours", HOURS_ANSWER)]
    # The first connection is aborted 3.3 s in: the greeting (2.2 s) has played and the
    # caller is in the middle of the question. Later connections are left alone.
    fakes.deepgram.drop_after_s = 3.3

    async def heal():
        while not fakes.deepgram.connections or fakes.deepgram.connections[0].closed_by is None:
            await asyncio.sleep(0.01)
        fakes.deepgram.drop_after_s = None

    healer = asyncio.create_task(heal())
    script = [*GREETING, Say(QUESTION, HOURS), WaitForAgentAudio(timeout=10)]
    script += [WaitForAgentSilence(pause=0.3, timeout=15), HangUp()]
    result = await server.emulator().place_call(script, max_duration=40)
    healer.cancel()

    assert not result.timeouts, result.timeouts
    first, second = fakes.deepgram.connections[:2]
    assert first.closed_by == "drop"
    # The new socket began with audio the old one had received but not finalized: replayed.
    assert bytes(second.audio[:3200]) in bytes(first.audio)
    # The question was answered although its words straddled the drop.
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert any(HOURS_ANSWER in text for text in spoken)
    [controller] = controllers
    assert controller.failures == []


async def test_deepgram_gone_for_good_ends_the_call_politely(fakes, start_server, controllers):
    server = await start_server()
    fakes.deepgram.set_script([HOURS])
    fakes.deepgram.drop_after_s = 3.0  # mid-question, as above

    async def refuse_reconnects():
        # The first handshake succeeds (the call starts); every one after it is refused.
        while not fakes.deepgram.connections:
            await asyncio.sleep(0.01)
        fakes.deepgram.refuse_connections = 1000

    armer = asyncio.create_task(refuse_reconnects())
    script = [*GREETING, Say(QUESTION, HOURS), WaitForAgentAudio(timeout=10)]
    script += [WaitForAgentSilence(pause=0.3, timeout=15), HangUp()]
    result = await server.emulator().place_call(script, max_duration=40)
    armer.cancel()

    [controller] = controllers
    assert controller.failures == [("stt", "reconnect_failed")]
    assert controller.hang_up_reason == "error"
    assert TROUBLE in result.heard  # the whole apology, from the cache
    assert result.closed_by == "server"
    assert fakes.deepgram.refused >= 3
