"""Deterministic voice-like audio, plus the G.711 codecs the fakes need.

The fake TTS answers with this audio and a simulated caller can speak with it,
so it has to pass for speech: to an energy detector (the fake STT) and to
Silero VAD (our pipeline), which ignores a plain harmonic buzz. So it is a
small formant synthesizer: a glottal-like harmonic series at a speaking pitch
(120-220 Hz, picked from the text so two phrases sound different, falling
over the phrase), shaped by vowel formants that move from letter to letter,
with hissy noise for consonants and quieter gaps for spaces, about 70 ms per
character. Silero scores it above 0.9. Nothing depends on randomness or the
clock: the same text at the same rate gives the same samples, which lets tests
compare what the caller heard byte for byte.

The mu-law codec follows CPython's ``audioop`` (the CCITT G.711 reference code)
bit for bit, because that is what pipecat uses to feed Twilio; it is written
with numpy since ``audioop`` is gone in Python 3.13.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "VoiceParams",
    "decode",
    "encode",
    "lin2ulaw",
    "rms",
    "silence",
    "speech_duration_s",
    "synth_speech",
    "ulaw2lin",
]


@dataclass(frozen=True)
class VoiceParams:
    """How the synthetic voice sounds.

    Parameters:
        ms_per_char: Duration of each character of text (spaces included).
        f0_min / f0_max: Range the pitch is picked from (by a hash of the text).
        amplitude: Peak level as a fraction of full scale.
        max_freq_hz: Highest harmonic (telephone band; also kept below Nyquist).
    """

    ms_per_char: float = 70.0
    f0_min: float = 120.0
    f0_max: float = 220.0
    amplitude: float = 0.3
    max_freq_hz: float = 3800.0


DEFAULT_VOICE = VoiceParams()

# Formants (F1, F2, F3 in Hz) of the vowels, adult averages. Consonants reuse
# the previous vowel's F2 with a low F1, which is roughly what a closure does.
_VOWELS = {
    "a": (730, 1090, 2440),
    "e": (530, 1840, 2480),
    "i": (390, 1990, 2550),
    "o": (570, 840, 2410),
    "u": (440, 1020, 2240),
    "y": (390, 1990, 2550),
}
_VOICED_CONSONANTS = set("bdgjlmnrvwz")
_BANDWIDTHS = np.array([90.0, 110.0, 170.0])
_FORMANT_GAINS = (1.0, 0.6, 0.3)
_FADE_S = 0.01


def speech_duration_s(text: str, voice: VoiceParams = DEFAULT_VOICE) -> float:
    """Length in seconds of ``synth_speech(text)``."""
    return max(len(text), 1) * voice.ms_per_char / 1000.0


def synth_speech(text: str, sample_rate: int, voice: VoiceParams = DEFAULT_VOICE) -> np.ndarray:
    """Render ``text`` as voice-like int16 mono samples at ``sample_rate``."""
    # Cached: the output is a pure function of its arguments, and rendering
    # runs on the event loop of the fake TTS, where phrases repeat a lot.
    return np.frombuffer(_render(text, sample_rate, voice), dtype=np.int16).copy()


@functools.lru_cache(maxsize=512)
def _render(text: str, sample_rate: int, voice: VoiceParams) -> bytes:
    chars = text or " "
    per_char = max(int(round(sample_rate * voice.ms_per_char / 1000.0)), 1)
    n = per_char * len(chars)
    t = np.arange(n, dtype=np.float64) / sample_rate
    seed = zlib.crc32(text.encode("utf-8"))  # stable across runs, unlike hash()

    formants, voicing, hiss = _articulation(chars)
    # Smooth the per-letter targets so formants glide and levels don't click.
    formants = _smooth(formants.repeat(per_char, axis=0), per_char // 2)
    voicing = _smooth(voicing.repeat(per_char), per_char // 3)
    hiss = _smooth(hiss.repeat(per_char), per_char // 3)

    f0 = voice.f0_min + (seed % 1000) / 1000.0 * (voice.f0_max - voice.f0_min)
    progress = t / max(t[-1], 1e-9)
    pitch = f0 * (1.1 - 0.2 * progress) * (1.0 + 0.03 * np.sin(2 * np.pi * 3.0 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate

    # Additive synthesis: each harmonic's level is the formant envelope at its
    # frequency, which gives vowel colour without an IIR filter (no scipy).
    top = min(voice.max_freq_hz, 0.45 * sample_rate)
    voiced = np.zeros(n)
    for k in range(1, int(top / (f0 * 0.9)) + 1):
        freq = k * pitch
        level = sum(
            g / (1.0 + ((freq - formants[:, j]) / _BANDWIDTHS[j]) ** 2)
            for j, g in enumerate(_FORMANT_GAINS)
        )
        level = np.where(freq < top, level / np.sqrt(k), 0.0)  # glottal roll-off
        voiced += level * np.sin(k * phase)
    voiced /= max(float(np.max(np.abs(voiced))), 1e-9)

    noise = _hash_noise(n, seed)
    noise = np.diff(noise, prepend=0.0) / 2  # tilt towards high frequencies, like a fricative
    out = voiced * voicing + noise * hiss * 0.5
    out *= _fades(n, sample_rate) / max(float(np.max(np.abs(out))), 1e-9)
    return (
        np.clip(np.round(out * voice.amplitude * 32767.0), -32768, 32767).astype(np.int16).tobytes()
    )


def silence(duration_s: float, sample_rate: int) -> np.ndarray:
    """``duration_s`` of digital silence as int16 samples."""
    return np.zeros(int(round(duration_s * sample_rate)), dtype=np.int16)


def rms(samples: np.ndarray) -> float:
    """Root mean square level of int16 samples (0 for an empty array)."""
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def encode(samples: np.ndarray, encoding: str) -> bytes:
    """Encode int16 samples as Deepgram/Cartesia name them.

    Supports ``linear16``/``pcm_s16le``, ``mulaw``/``pcm_mulaw`` and ``pcm_f32le``.
    """
    if encoding in ("linear16", "pcm_s16le"):
        return samples.astype("<i2").tobytes()
    if encoding in ("mulaw", "pcm_mulaw"):
        return lin2ulaw(samples).tobytes()
    if encoding == "pcm_f32le":
        return (samples.astype(np.float32) / 32768.0).astype("<f4").tobytes()
    raise ValueError(f"unsupported encoding {encoding!r}")


def decode(data: bytes, encoding: str) -> np.ndarray:
    """Decode audio bytes (see :func:`encode`) back to int16 samples."""
    if encoding in ("linear16", "pcm_s16le"):
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)
    if encoding in ("mulaw", "pcm_mulaw"):
        return ulaw2lin(data)
    if encoding == "pcm_f32le":
        floats = np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")
        return np.clip(floats * 32768.0, -32768, 32767).astype(np.int16)
    raise ValueError(f"unsupported encoding {encoding!r}")


# --- G.711 mu-law, as audioop.lin2ulaw / ulaw2lin do it -----------------------

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def lin2ulaw(samples: np.ndarray) -> np.ndarray:
    """int16 samples -> mu-law bytes (uint8 array)."""
    pcm = samples.astype(np.int32) >> 2  # audioop works on 14-bit magnitudes
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + 0x21
    seg = np.searchsorted(_SEG_UEND, mag, side="left")
    uval = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0xF)
    uval = np.where(seg >= 8, 0x7F, uval)
    return ((uval ^ mask) & 0xFF).astype(np.uint8)


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


_ULAW_TO_LIN = _ulaw_table()


def ulaw2lin(data: bytes) -> np.ndarray:
    """mu-law bytes -> int16 samples."""
    return _ULAW_TO_LIN[np.frombuffer(data, dtype=np.uint8)]


def _articulation(chars: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per character: formant targets, voicing level and hiss level."""
    formants = np.zeros((len(chars), 3))
    voicing = np.zeros(len(chars))
    hiss = np.zeros(len(chars))
    last = _VOWELS["e"]
    for i, c in enumerate(chars.lower()):
        if c in _VOWELS:
            last = _VOWELS[c]
            formants[i], voicing[i] = last, 1.0
        elif c.isalpha():
            voiced = c in _VOICED_CONSONANTS
            formants[i] = (300, last[1] * 0.9, 2500)
            voicing[i], hiss[i] = (0.45, 0.1) if voiced else (0.12, 0.35)
        else:  # spaces and punctuation: a quieter gap, never silence
            formants[i], voicing[i] = last, 0.15 if c.isspace() else 0.08
    return formants, voicing, hiss


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    kernel = np.ones(max(width, 1)) / max(width, 1)
    if x.ndim == 1:
        return np.convolve(x, kernel, mode="same")
    return np.stack([np.convolve(x[:, j], kernel, mode="same") for j in range(x.shape[1])], 1)


def _hash_noise(n: int, seed: int) -> np.ndarray:
    """Uniform noise in [-1, 1) from an integer hash of the sample index.

    Integer arithmetic, so it is the same on every machine and numpy version
    (numpy's random streams are not guaranteed to be).
    """
    x = (np.arange(n, dtype=np.uint64) + seed) & 0xFFFFFFFF
    x = (x * 0x9E3779B1) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return x.astype(np.float64) / 2**31 - 1.0


def _fades(n: int, sample_rate: int) -> np.ndarray:
    """Short linear fade in and out so the phrase starts and ends cleanly."""
    env = np.ones(n)
    f = min(int(_FADE_S * sample_rate), n // 2)
    if f > 0:
        ramp = np.linspace(0.0, 1.0, f, endpoint=False)
        env[:f] = ramp
        env[n - f :] = ramp[::-1]
    return env
