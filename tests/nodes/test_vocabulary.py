"""A graph's `vocabulary:` reaches the speech-to-text: Deepgram's keyterms on its socket URL
(the real pipecat client against the Deepgram fake) and Whisper's initial prompt (a real Whisper
tiny.en transcription of the cached, Piper-spoken greeting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.tests.utils import SleepFrame, run_test

from agent.adapters.local_speech import upsample_to_whisper
from agent.audio import ulaw_to_pcm16
from agent.config import Config
from agent.errors import GraphError
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.sim.fakes import ProviderFakes
from agent.sim.fakes.synth import silence, synth_speech

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq", "CARTESIA_API_KEY": "ca"}


def build(graph_file: Path, **env):
    cfg = Config.load(env={**KEYS, **env}, dotenv_path=None)
    graph = load_graph(graph_file, cfg, strict=True)
    ctx = BuildContext(cfg, graph, CallInfo("CAvocab", "MZ1"), ProcessCache())
    return graph, build_graph(graph, ctx).nodes


async def test_deepgram_gets_the_vocabulary_as_keyterms_on_its_socket_url():
    async with ProviderFakes() as fakes:
        graph, nodes = build(ROOT / "graphs/receptionist.yaml", **fakes.env())
        assert graph.vocabulary == ("Acme",)
        [stt] = nodes["stt"].processors
        pcm = np.concatenate([silence(0.2, 8000), synth_speech("hello", 8000)]).tobytes()
        frames = [InputAudioRawFrame(pcm[i : i + 320], 8000, 1) for i in range(0, len(pcm), 320)]
        await run_test(
            stt,
            frames_to_send=[*frames, SleepFrame(0.2)],
            pipeline_params=PipelineParams(audio_in_sample_rate=8000),
        )
        conn = fakes.deepgram.connections[0]
        assert ("keyterm", "Acme") in conn.query_items
        assert conn.query["model"] == "nova-3"


def test_an_older_deepgram_model_gets_keywords(tmp_path):
    text = (ROOT / "graphs/receptionist.yaml").read_text()
    assert "    model: nova-3\n" in text
    text = text.replace("    model: nova-3\n", "    model: nova-2\n", 1)
    path = tmp_path / "receptionist.yaml"
    path.write_text(text.replace("../audio_cache", str(ROOT / "audio_cache")))
    (tmp_path / "prompts").symlink_to(ROOT / "graphs" / "prompts")
    _, nodes = build(path)
    [stt] = nodes["stt"].processors
    options = stt._build_connect_kwargs()
    assert options["model"] == "nova-2" and "keyterm" not in options
    assert options["keywords"] in ("Acme", ["Acme"])


@pytest.mark.parametrize(
    "vocabulary,message",
    [
        ("[Acme, acme]", "vocabulary term 'acme' is listed twice"),
        ("[Acme, ' ']", "a vocabulary term must not be blank"),
    ],
)
def test_a_bad_vocabulary_is_a_precise_graph_error(tmp_path, vocabulary, message):
    text = (ROOT / "graphs/receptionist.yaml").read_text()
    text = text.replace("vocabulary: [Acme]", f"vocabulary: {vocabulary}")
    path = tmp_path / "receptionist.yaml"
    path.write_text(text.replace("../audio_cache", str(ROOT / "audio_cache")))
    (tmp_path / "prompts").symlink_to(ROOT / "graphs" / "prompts")
    with pytest.raises(GraphError) as caught:
        build(path)
    assert message in str(caught.value) and "vocabulary" in str(caught.value)


async def _whisper_hears(service: WhisperSTTService, pcm16k: bytes) -> str:
    texts = [f.text async for f in WhisperSTTService.run_stt(service, pcm16k)]
    return " ".join(t for t in texts if t)


async def test_the_local_graph_hears_acme_in_the_greeting():
    """The greeting as Piper said it (audio_cache/greeting.ulaw, 8 kHz like a phone call),
    transcribed by the local graph's Whisper with the graph's vocabulary, and without it."""
    ulaw = (ROOT / "audio_cache" / "greeting.ulaw").read_bytes()
    audio = upsample_to_whisper(ulaw_to_pcm16(ulaw), 8000)
    graph, nodes = build(ROOT / "graphs/local.yaml")
    [stt] = nodes["stt"].processors
    assert stt._settings.initial_prompt == "A phone call with Acme."
    heard = await _whisper_hears(stt, audio)
    stt._settings.initial_prompt = None  # the same model and audio, no vocabulary
    without = await _whisper_hears(stt, audio)
    assert "acme" in heard.lower(), heard
    assert "acme" not in without.lower(), without  # what the vocabulary changed
