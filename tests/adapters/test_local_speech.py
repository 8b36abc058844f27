"""agent/adapters/local_speech.py: where pipecat's Whisper and Piper services load their
models, which the shared-model services replace."""

from __future__ import annotations

from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService

from agent.adapters.local_speech import SharedPiperTTSService, SharedWhisperSTTService
from tests.adapters.contract import assert_callable, assert_source_mentions


def test_whisper_loads_its_model_in_load_and_reads_it_from_model():
    assert_callable(WhisperSTTService, "_load", ["self"], is_async=False)
    assert_source_mentions(WhisperSTTService, "__init__", "self._load()")
    assert_source_mentions(WhisperSTTService, "run_stt", "self._model")
    model = object()
    service = SharedWhisperSTTService(
        model=model, settings=SharedWhisperSTTService.Settings(model="bundled")
    )
    assert service._model is model


def test_piper_reads_its_voice_from_voice():
    assert_source_mentions(PiperTTSService, "__init__", "self._voice = PiperVoice.load(")
    assert_source_mentions(PiperTTSService, "run_tts", "self._voice")
    voice = object()
    service = SharedPiperTTSService(voice=voice, voice_name="en_US-joe-medium")
    assert service._voice is voice
    assert service._settings.voice == "en_US-joe-medium"
