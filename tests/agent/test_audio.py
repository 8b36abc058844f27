"""agent/audio.py: WAV reading in every PCM width, soxr resampling, canonical mu-law."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from agent import audio
from agent.sim import mulaw


def write(path: Path, frames: bytes, rate: int, width: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_load_wav_reads_every_pcm_width_as_floats(tmp_path, width):
    values = np.array([0.0, 0.5, -0.5, 0.25], dtype=np.float64)
    if width == 1:
        frames = (np.round(values * 128) + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(values * (1 << 23)).astype(np.int32)
        frames = b"".join(int(i).to_bytes(3, "little", signed=True) for i in ints)
    else:
        dtype = "<i2" if width == 2 else "<i4"
        frames = np.round(values * 2 ** (8 * width - 1)).astype(dtype).tobytes()
    samples, rate = audio.load_wav(write(tmp_path / "x.wav", frames, 22050, width))
    assert rate == 22050 and samples.dtype == np.float32
    assert np.allclose(samples, values, atol=1 / 128)


def test_stereo_is_mixed_down(tmp_path):
    frames = np.array([16384, 0, -16384, 16384], dtype="<i2").tobytes()  # L R L R
    samples, _ = audio.load_wav(write(tmp_path / "s.wav", frames, 8000, 2, channels=2))
    assert np.allclose(samples, [0.25, 0.0])


def test_wav_to_ulaw_resamples_to_8khz(tmp_path):
    t = np.arange(24000) / 24000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t) * 32767).astype("<i2").tobytes()
    ulaw = audio.wav_to_ulaw(write(tmp_path / "t.wav", tone, 24000, 2))
    assert len(ulaw) == 8000
    pcm = np.frombuffer(audio.ulaw_to_pcm16(ulaw), np.int16).astype(float)
    assert abs(np.argmax(np.abs(np.fft.rfft(pcm))) - 1000) <= 2  # 1 Hz bins over 1 s


def test_canonical_ulaw_survives_the_pipeline_round_trip():
    codes = bytes(range(256))
    canonical = audio.canonical_ulaw(codes)
    assert canonical == codes.replace(b"\x7f", b"\xff")
    assert audio.pcm16_to_ulaw(audio.ulaw_to_pcm16(canonical)) == canonical


def test_pcm16_at_another_rate_becomes_8khz_ulaw():
    pcm = (np.sin(np.arange(16000) / 16000 * 2 * np.pi * 300) * 8000).astype("<i2").tobytes()
    assert len(audio.pcm16_rate_to_ulaw(pcm, 16000)) == 8000
    assert audio.pcm16_rate_to_ulaw(pcm, 8000) == audio.canonical_ulaw(audio.pcm16_to_ulaw(pcm))


def test_the_simulation_kit_still_finds_the_codec():
    assert mulaw.encode is audio.encode and mulaw.SILENCE == audio.SILENCE == 0xFF
