"""agent/nodes/local.py and responder.py: the keyless graph's nodes build, share their models
across calls, and hear 8 kHz phone audio as Whisper expects it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.nodes.local import WHISPER_RATE, upsample_to_whisper

ROOT = Path(__file__).resolve().parents[2]


def local_graph(env: dict[str, str] | None = None):
    config = Config.load(env=env or {}, dotenv_path=None)
    return config, load_graph(ROOT / "graphs" / "local.yaml", config, strict=True)


def build(config, graph, shared: ProcessCache):
    return build_graph(
        graph, BuildContext(config, graph, CallInfo(call_sid="CAtest", stream_sid="MZtest"), shared)
    )


def test_local_graph_needs_no_keys_and_shares_its_models_across_calls():
    from pipecat.services.piper.tts import PiperTTSService
    from pipecat.services.whisper.stt import WhisperSTTService

    from processors.scripted_responder import ScriptedResponder

    config, graph = local_graph()
    shared = ProcessCache()
    first, second = build(config, graph, shared), build(config, graph, shared)
    stt = [p for p in first.nodes["stt"].processors if isinstance(p, WhisperSTTService)]
    stt2 = [p for p in second.nodes["stt"].processors if isinstance(p, WhisperSTTService)]
    assert stt and stt2 and stt[0] is not stt2[0]
    assert stt[0]._model is stt2[0]._model is not None  # one Whisper model per process
    tts = first.nodes["tts"].processors[0]
    tts2 = second.nodes["tts"].processors[0]
    assert isinstance(tts, PiperTTSService) and tts._voice is tts2._voice
    assert any(isinstance(p, ScriptedResponder) for p in first.nodes["responder"].processors)
    assert first.nodes["responder"].context is not second.nodes["responder"].context
    # Whisper produces the `segment` kind: turns end when its transcription does.
    from agent.adapters.segment_turns import SegmentAwareTurnStop

    user = first.nodes["responder"].processors[0]
    assert [type(s) for s in user._params.user_turn_strategies.stop] == [SegmentAwareTurnStop]


def test_llm_base_url_swaps_the_script_for_an_openai_compatible_llm():
    from pipecat.services.openai.llm import OpenAILLMService

    config, graph = local_graph({"LLM_BASE_URL": "http://127.0.0.1:11434/v1", "LLM_MODEL": "m"})
    built = build(config, graph, ProcessCache())
    [llm] = [p for p in built.nodes["responder"].processors if isinstance(p, OpenAILLMService)]
    assert llm._settings.model == "m"
    assert str(llm._client.base_url).rstrip("/") == "http://127.0.0.1:11434/v1"


def test_phone_audio_is_upsampled_to_what_whisper_reads():
    t = np.arange(8000) / 8000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16).tobytes()
    out = np.frombuffer(upsample_to_whisper(tone, 8000), dtype=np.int16)
    assert len(out) == WHISPER_RATE  # one second stays one second
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * WHISPER_RATE / len(out) - 440) < 2  # same pitch
    assert upsample_to_whisper(b"", 8000) == b""
