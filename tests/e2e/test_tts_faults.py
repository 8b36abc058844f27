"""Cartesia failing in a live call: the caller hears the cached fallback instead of silence,
and the next answer is spoken normally (agent/nodes/cartesia.py, the call controller)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.sim.script import HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import caller_audio
from tests.e2e.test_llm_faults import HOURS, HOURS_ANSWER

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = (ROOT / "audio_cache" / "fallback.ulaw").read_bytes()

pytestmark = pytest.mark.timeout(120)


def ask() -> list:
    return [
        Say(caller_audio("what_are_your_opening_hours"), HOURS),
        WaitForAgentAudio(timeout=12),
        WaitForAgentSilence(pause=0.3, timeout=20),
    ]


@pytest.mark.parametrize("fault", ["error", "drop"])
async def test_a_tts_failure_is_covered_by_the_fallback(fakes, start_server, controllers, fault):
    server = await start_server()
    fakes.deepgram.set_script([HOURS] * 2)
    fakes.groq.replies = [("hours", HOURS_ANSWER)]
    greeting = [WaitForAgentAudio(timeout=10), WaitForAgentSilence(pause=0.3, timeout=10)]

    async def heal_after_first_failure():
        # The drop fault hits every connection: lift it once it has cost one utterance.
        while not (controllers and controllers[0].failures):
            await asyncio.sleep(0.05)
        fakes.cartesia.drop_after_chunks = None

    # The greeting plays from the cache (no TTS), so the fault meets the first answer.
    if fault == "error":
        fakes.cartesia.error_next = 1
    else:
        fakes.cartesia.drop_after_chunks = 2
    healer = asyncio.create_task(heal_after_first_failure())
    result = await server.emulator().place_call(
        [*greeting, *ask(), *ask(), HangUp()], max_duration=60
    )
    healer.cancel()
    assert not result.timeouts, result.timeouts
    [controller] = controllers
    expected = "provider_error" if fault == "error" else "socket_dropped"
    assert controller.failures == [("tts", expected)]
    # The first answer failed: the fallback played, byte for byte from the cache ...
    assert result.heard.count(FALLBACK) == 1
    # ... and the second answer was spoken in full (after a reconnect, for the drop).
    spoken = list(fakes.cartesia.transcripts_by_context().values())
    assert HOURS_ANSWER in spoken[-1]
    last_question = [e[1] for e in result.timeline if e[0] == "say_end"][-1]
    heard = sum(e - s for s, e in result.agent_speech_segments if s > last_question)
    assert heard > 2.5  # the whole answer (~3 s), not a fragment (a stutter may split it)
