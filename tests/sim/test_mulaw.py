"""agent.sim.mulaw is bit-exact G.711 mu-law, checked against Python's audioop (gone in 3.13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from agent.sim import mulaw

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")

ALL_PCM = np.arange(65536, dtype=np.uint16).view(np.int16)
ALL_CODES = bytes(range(256))


def test_encode_matches_audioop_for_every_pcm16_value():
    assert mulaw.pcm16_to_ulaw(ALL_PCM.tobytes()) == audioop.lin2ulaw(ALL_PCM.tobytes(), 2)
    assert mulaw.encode(ALL_PCM).tobytes() == audioop.lin2ulaw(ALL_PCM.tobytes(), 2)


def test_decode_matches_audioop_for_every_code():
    assert mulaw.ulaw_to_pcm16(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert mulaw.decode(ALL_CODES).tobytes() == audioop.ulaw2lin(ALL_CODES, 2)
    assert mulaw.decode(np.frombuffer(ALL_CODES, np.uint8)).dtype == np.int16


def test_round_trip_and_silence():
    decoded = mulaw.decode(ALL_CODES)
    # Every code decodes to a value that encodes back to itself, except negative zero (0x7F),
    # which G.711 maps to the same PCM 0 as 0xFF.
    reencoded = mulaw.encode(decoded)
    assert [c for c in range(256) if reencoded[c] != c] == [0x7F]
    assert mulaw.decode(bytes([mulaw.SILENCE]))[0] == 0
    assert mulaw.pcm16_to_ulaw(b"\x00\x00") == bytes([mulaw.SILENCE])


def test_float_and_wav_helpers(tmp_path):
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)
    ulaw = mulaw.float_to_ulaw(tone)
    assert len(ulaw) == 800
    expected = audioop.lin2ulaw(np.round(tone * 32767).astype(np.int16).tobytes(), 2)
    assert ulaw == expected
    path = tmp_path / "tone.wav"
    mulaw.write_wav(path, ulaw)
    assert mulaw.read_wav(path) == ulaw


def test_rejects_what_it_cannot_encode():
    with pytest.raises(TypeError):
        mulaw.encode(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError):
        mulaw.pcm16_to_ulaw(b"\x00\x00\x00")
