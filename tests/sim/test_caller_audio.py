"""The caller speech fixtures are speech as far as our pipeline's Silero VAD can tell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState

from agent.sim.mulaw import SILENCE, ulaw_to_pcm16
from agent.sim.script import Say

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
PHRASES = [
    "how_much_does_it_cost",
    "what_are_your_opening_hours",
    "who_are_you",
    "goodbye",
    "yes",
    "wait_stop",
    "i_would_like_to_book_an_appointment_for_tomorrow",
    "stop_calling_me",
    "mm_hmm",
    "okay",
    "wait_which_one_is_cheapest",
]
FRAME = 160  # feed 20 ms at a time, as the Twilio transport does


def test_every_phrase_is_there_and_small():
    assert sorted(p.stem for p in AUDIO.glob("*.ulaw")) == sorted(PHRASES)
    for name in PHRASES:
        size = (AUDIO / f"{name}.ulaw").stat().st_size
        assert 0.3 * 8000 < size < 3.0 * 8000, name


@pytest.mark.parametrize("name", PHRASES)
async def test_silero_hears_speech(name: str):
    vad = SileroVADAnalyzer(sample_rate=8000)
    vad.set_sample_rate(8000)  # what the pipeline does when it starts
    speech = (AUDIO / f"{name}.ulaw").read_bytes()
    silence = bytes([SILENCE]) * 4000  # 0.5 s before and after, as in a call
    states = []
    for ulaw in (silence, speech, silence):
        for i in range(0, len(ulaw), FRAME):
            states.append(await vad.analyze_audio(ulaw_to_pcm16(ulaw[i : i + FRAME])))
    assert states[: len(silence) // FRAME].count(VADState.SPEAKING) == 0
    assert VADState.SPEAKING in states, f"{name}: Silero never detected speech"
    assert states[-1] == VADState.QUIET, f"{name}: speech never ended"


def test_fixture_levels_leave_headroom():
    for name in PHRASES:
        pcm = np.frombuffer(ulaw_to_pcm16((AUDIO / f"{name}.ulaw").read_bytes()), np.int16)
        peak = np.abs(pcm.astype(np.int32)).max() / 32768
        assert 0.3 < peak < 0.7, name


def test_say_from_file_names_the_phrase():
    step = Say.from_file(AUDIO / "who_are_you.ulaw")
    assert step.text == "who are you" and step.audio == (AUDIO / "who_are_you.ulaw").read_bytes()
