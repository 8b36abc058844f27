"""The project's audio utilities: exact G.711 mu-law (numpy), WAV reading, resampling (soxr).

Twilio Media Streams carry G.711 mu-law (PCMU) at 8 kHz both ways, and so do the cached
phrases in audio_cache/. Python's ``audioop`` is deprecated and gone in 3.13, so this module
re-implements exactly what ``audioop.lin2ulaw(pcm, 2)`` and ``audioop.ulaw2lin(ulaw, 2)``
compute (the classic Sun/CCITT G.711 reference code): bit-for-bit identical output for all
65536 PCM16 inputs and all 256 mu-law codes (tests compare against ``audioop`` while it
still exists).

Both directions are one table lookup per sample: a 64 KiB table indexed by the PCM16 sample's
bit pattern for encoding, a 256-entry table for decoding. That is exact by construction and as
fast as numpy fancy indexing gets, so production code may use it on every 20 ms frame.

PCM16 bytes are native-endian signed 16-bit samples (little-endian on every platform we run),
as ``audioop`` and pipecat's audio frames use them.

Beyond the codec: ``load_wav`` reads any PCM WAV (8/16/24/32-bit, any rate, mono or not) as
float samples, ``resample`` converts rates with soxr (installed with pipecat; no ffmpeg), and
``wav_to_ulaw`` turns a WAV file into the 8 kHz mu-law the cache and Twilio use.
``canonical_ulaw`` maps the one mu-law code that does not survive a decode/encode round trip
(0x7F, "negative zero") to 0xFF, so cached bytes are exactly what a caller receives after our
pipeline decodes them to PCM and the transport encodes them again.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from agent.twilio.protocol import SAMPLE_RATE

"""Twilio's telephony rate: 8000 mu-law bytes per second of audio."""

SILENCE = 0xFF
"""The mu-law code for digital silence (PCM 0); 0x7F is also zero but 0xFF is what carriers send."""

_BIAS = 0x84  # 132: added to the magnitude so every segment has an implicit leading one
_CLIP = 8159  # largest magnitude of the 14-bit input the encoder represents
_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def _build_encode_table() -> np.ndarray:
    """Mu-law code for every int16 value, indexed by the sample's uint16 bit pattern."""
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)
    # audioop works on 14-bit samples: an arithmetic shift, which floors (-1 >> 2 == -1).
    val = pcm >> 2
    negative = val < 0
    mask = np.where(negative, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(val), _CLIP) + (_BIAS >> 2)
    # Segment = index of the first segment end >= magnitude; the clipped maximum (8159 + 33)
    # lands past the last segment, where the reference code returns the largest code, 0x7F.
    seg = np.searchsorted(_SEG_END, magnitude, side="left")
    code = np.where(seg >= 8, 0x7F, (seg << 4) | ((magnitude >> (seg + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8)


def _build_decode_table() -> np.ndarray:
    """PCM16 value for every mu-law code (the reference st_ulaw2linear16)."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _BIAS - t, t - _BIAS).astype(np.int16)


ENCODE_TABLE = _build_encode_table()
"""uint8[65536]: ``ENCODE_TABLE[pcm.view(np.uint16)]`` is the mu-law code of each sample."""

DECODE_TABLE = _build_decode_table()
"""int16[256]: ``DECODE_TABLE[code]`` is the PCM16 value of each mu-law code."""


def encode(pcm: np.ndarray) -> np.ndarray:
    """Encode int16 samples to mu-law codes (uint8 array of the same length)."""
    samples = np.asarray(pcm)
    if samples.dtype != np.int16:
        raise TypeError(f"encode() needs int16 samples, got {samples.dtype}")
    return ENCODE_TABLE[samples.view(np.uint16)]


def decode(ulaw: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Decode mu-law codes (bytes or a uint8 array) to int16 samples."""
    codes = ulaw if isinstance(ulaw, np.ndarray) else np.frombuffer(ulaw, dtype=np.uint8)
    return DECODE_TABLE[codes]


def pcm16_to_ulaw(pcm: bytes | bytearray | memoryview) -> bytes:
    """``audioop.lin2ulaw(pcm, 2)``: native-endian PCM16 bytes to mu-law bytes."""
    if len(pcm) % 2:
        raise ValueError("PCM16 data must have an even number of bytes")
    return ENCODE_TABLE[np.frombuffer(pcm, dtype=np.uint16)].tobytes()


def ulaw_to_pcm16(ulaw: bytes | bytearray | memoryview) -> bytes:
    """``audioop.ulaw2lin(ulaw, 2)``: mu-law bytes to native-endian PCM16 bytes."""
    return DECODE_TABLE[np.frombuffer(ulaw, dtype=np.uint8)].tobytes()


def float_to_ulaw(samples: np.ndarray) -> bytes:
    """Encode float samples in [-1, 1] (clipped) to mu-law bytes, e.g. TTS or resampler output."""
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767)
    return encode(pcm.astype(np.int16)).tobytes()


def write_wav(path: str | Path, ulaw: bytes | bytearray | memoryview, rate: int = SAMPLE_RATE):
    """Write mu-law audio as a 16-bit PCM mono WAV file (what every audio player opens)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(decode(ulaw).astype("<i2").tobytes())


def read_wav(path: str | Path) -> bytes:
    """Read a mono 16-bit 8 kHz WAV file back to mu-law bytes (the inverse of ``write_wav``)."""
    with wave.open(str(path), "rb") as src:
        if (src.getnchannels(), src.getsampwidth(), src.getframerate()) != (1, 2, SAMPLE_RATE):
            raise ValueError(f"{path}: need mono 16-bit {SAMPLE_RATE} Hz WAV")
        frames = src.readframes(src.getnframes())
    return encode(np.frombuffer(frames, dtype="<i2").astype(np.int16)).tobytes()


def canonical_ulaw(ulaw: bytes | bytearray | memoryview) -> bytes:
    """``ulaw`` as it comes out of a decode/encode round trip (0x7F, negative zero, -> 0xFF)."""
    return ENCODE_TABLE[DECODE_TABLE[np.frombuffer(ulaw, dtype=np.uint8)].view(np.uint16)].tobytes()


def load_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A PCM WAV file as mono float32 samples in [-1, 1) and its sample rate.

    8-bit (unsigned), 16-, 24- and 32-bit (signed) integer PCM; channels are averaged.
    """
    with wave.open(str(path), "rb") as src:
        channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
        frames = src.readframes(src.getnframes())
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        samples = (np.frombuffer(frames, dtype="<i4").astype(np.float64) / 2**31).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported WAV sample width {width * 8} bits")
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(1)
    return samples.astype(np.float32), rate


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Float samples at ``from_rate`` converted to ``to_rate`` with soxr (very high quality)."""
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(samples, dtype=np.float32), from_rate, to_rate, "VHQ")


def wav_to_ulaw(path: str | Path) -> bytes:
    """A WAV file as 8 kHz mono mu-law bytes (resampled if needed; canonical codes)."""
    samples, rate = load_wav(path)
    return canonical_ulaw(float_to_ulaw(resample(samples, rate, SAMPLE_RATE)))


def pcm16_rate_to_ulaw(pcm: bytes, rate: int) -> bytes:
    """PCM16 audio at ``rate`` (e.g. a TTS service's output) as 8 kHz canonical mu-law."""
    if rate == SAMPLE_RATE:
        return canonical_ulaw(pcm16_to_ulaw(pcm))
    floats = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    return canonical_ulaw(float_to_ulaw(resample(floats, rate, SAMPLE_RATE)))
