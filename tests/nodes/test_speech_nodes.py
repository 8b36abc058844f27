"""Deepgram, Flux, Cartesia and Silero builders: what they ask the providers for."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecat.processors.aggregators.llm_text_processor import LLMTextProcessor
from pipecat.services.cartesia.tts import CartesiaTTSService
from pydantic import ValidationError

from agent.config import Config
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.nodes.deepgram import flux_url
from agent.nodes.params import CartesiaTTSParams

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq", "CARTESIA_API_KEY": "ca"}


def build(**env):
    cfg = Config.load(env={**KEYS, **env}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs/receptionist.yaml", cfg, strict=True)
    return build_graph(
        graph, BuildContext(cfg, graph, CallInfo("CAabc", "MZ1"), ProcessCache())
    ).nodes


@pytest.mark.parametrize(
    "base,expected",
    [
        ("https://api.deepgram.com", "wss://api.deepgram.com/v2/listen"),
        ("http://127.0.0.1:8123", "ws://127.0.0.1:8123/v2/listen"),
        ("wss://dg.example/prefix", "wss://dg.example/prefix/v2/listen"),
        ("ws://localhost:1", "ws://localhost:1/v2/listen"),
    ],
)
def test_flux_url(base, expected):
    assert flux_url(base) == expected


def test_deepgram_live_options():
    [stt] = build().get("stt").processors
    options = stt._build_connect_kwargs()
    assert options["model"] == "nova-3"
    assert options["language"] == "en-US"
    assert options["encoding"] == "linear16" and options["channels"] == "1"
    assert options["interim_results"] == "true" and options["punctuate"] == "true"
    assert options["endpointing"] == "300" and options["utterance_end_ms"] == "1000"
    assert options["vad_events"] == "false"
    assert options["tag"] == "CAabc"  # the Deepgram fake picks its script by CallSid
    assert stt._init_sample_rate == 8000


def test_flux_options():
    [stt] = build(USE_DEEPGRAM_FLUX="true", DEEPGRAM_BASE_URL="http://127.0.0.1:8123")[
        "stt_flux"
    ].processors
    assert stt._url == "ws://127.0.0.1:8123/v2/listen"
    assert stt._tag == ["CAabc"]
    assert stt._encoding == "linear16" and stt._init_sample_rate == 8000


def test_cartesia_options():
    _, tts = build(CARTESIA_BASE_URL="ws://127.0.0.1:9", CARTESIA_VOICE_ID="voice-1")[
        "tts"
    ].processors
    assert tts._url == "ws://127.0.0.1:9/tts/websocket"
    assert tts._settings.voice == "voice-1"
    assert tts._output_encoding == "pcm_s16le" and tts._init_sample_rate == 8000


def test_cartesia_first_clause_goes_through_pipecats_llm_text_processor():
    clauses, tts = build()["tts"].processors  # TTS_FIRST_CLAUSE defaults to true
    assert isinstance(clauses, LLMTextProcessor) and isinstance(tts, CartesiaTTSService)
    [tts] = build(TTS_FIRST_CLAUSE="false")["tts"].processors
    assert isinstance(tts, CartesiaTTSService)


@pytest.mark.parametrize("words", [0, 21, "many"])
def test_cartesia_first_clause_min_words_is_checked(words):
    with pytest.raises(ValidationError):
        CartesiaTTSParams(first_clause_min_words=words)
    assert CartesiaTTSParams(first_clause_min_words=2).first_clause_min_words == 2


def test_vad_runs_at_8k():
    [vad] = build()["vad"].processors
    analyzer = vad._vad_controller._vad_analyzer
    assert analyzer._init_sample_rate == 8000
    assert analyzer.params.stop_secs == 0.2 and analyzer.params.confidence == 0.7


def test_caller_audio_stops_at_the_stt_when_no_later_node_needs_it():
    # Nothing after the receptionist's STT consumes audio.in: pipecat's STT would otherwise
    # push every caller audio frame through the rest of the pipeline for nobody.
    [stt] = build()["stt"].processors
    assert stt._audio_passthrough is False
    [flux] = build(USE_DEEPGRAM_FLUX="true")["stt_flux"].processors
    assert flux._audio_passthrough is False


def test_caller_audio_passes_the_stt_when_a_later_node_consumes_it():
    from types import SimpleNamespace

    from agent.graph.registry import BUILTIN_TYPES
    from agent.nodes.deepgram import audio_needed_after

    types = {t.name: t for t in BUILTIN_TYPES}

    def ctx(*chain):
        nodes = [SimpleNamespace(name=name, type=types[kind]) for name, kind in chain]
        return SimpleNamespace(graph=SimpleNamespace(chain_nodes=lambda: nodes))

    stt, vad, llm = ("stt", "deepgram_stt"), ("vad", "silero_vad"), ("llm", "groq_llm")
    assert audio_needed_after(ctx(stt, vad, llm), "stt") is True
    assert audio_needed_after(ctx(vad, stt, llm), "stt") is False
    assert audio_needed_after(ctx(vad, llm), "stt") is True  # not in the chain: unsure


def test_deepgram_sockets_offer_no_compression():
    from deepgram.listen.v1 import client

    build()
    # Building the node patches the SDK's socket connect (agent/adapters/deepgram.py).
    assert client.websockets_client_connect.__name__ == "connect_uncompressed"
