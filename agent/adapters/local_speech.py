"""pipecat's local speech services (faster-whisper STT, Piper TTS) with models shared per process.

pipecat loads the model in each service's constructor: Whisper's in `_load()` (called from
`WhisperSTTService.__init__`, stored in `_model`), Piper's voice in
`PiperTTSService.__init__` (stored in `_voice`, downloaded first if missing). Loading takes
~0.3-1 s and would stall every other call on the event loop, and we never download. Neither
service takes a loaded model, so these module-level subclasses hand it in:

- `SharedWhisperSTTService(model=..., **kwargs)`: `_load()` overridden to use `model`. Each
  utterance is upsampled from the pipeline's 8 kHz to the 16 kHz Whisper reads (pipecat hands
  the model audio at the pipeline's input rate), and after each one, words or none, it says
  so with a `SegmentTranscribedFrame` (agent/adapters/segment_turns.py ends the turn on it).
- `SharedPiperTTSService(voice, voice_name)`: runs `TTSService.__init__` instead of
  PiperTTSService's and sets `_voice`.

tests/adapters/test_local_speech.py names the pipecat behaviour relied on.
"""

from __future__ import annotations

import numpy as np
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.whisper.stt import WhisperSTTService

from processors.frames import SegmentTranscribedFrame

WHISPER_RATE = 16000


def upsample_to_whisper(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM at `rate` → 16 kHz, as Whisper reads it."""
    if rate == WHISPER_RATE or not pcm:
        return pcm
    import soxr

    samples = np.frombuffer(pcm, dtype=np.int16)
    return soxr.resample(samples, rate, WHISPER_RATE).astype(np.int16).tobytes()


class SharedWhisperSTTService(WhisperSTTService):
    """pipecat's Whisper STT over a model loaded once per process."""

    def __init__(self, *, model, **kwargs):
        self._shared_model = model  # read by _load(), which pipecat's __init__ calls
        super().__init__(**kwargs)
        self._segments_transcribed = 0

    def _load(self):
        self._model = self._shared_model  # loaded once per process, not per call

    async def run_stt(self, audio: bytes):
        # One call per VAD stop, in order (SegmentedSTTService's queue), so the count
        # matches the turn strategy's count of stops.
        self._segments_transcribed += 1
        done = SegmentTranscribedFrame(segment=self._segments_transcribed)
        try:
            async for frame in super().run_stt(upsample_to_whisper(audio, self.sample_rate)):
                yield frame
        except Exception:
            await self.push_frame(done)  # no words are coming: the turn need not wait
            raise
        await self.push_frame(done)


class SharedPiperTTSService(PiperTTSService):
    """pipecat's Piper TTS over a voice loaded once per process (never downloaded)."""

    def __init__(self, *, voice, voice_name: str):
        # PiperTTSService.__init__ loads (or downloads) the voice; do the rest of it.
        TTSService.__init__(
            self,
            push_start_frame=True,
            push_stop_frames=True,
            settings=self.Settings(model=None, voice=voice_name, language=None),
        )
        self._voice = voice
