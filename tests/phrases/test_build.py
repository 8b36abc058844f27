"""agent/phrases/build.py and agent/phrases/cache.py: render, skip fresh, rebuild stale, --check.

The TTS path runs the graph's real pipecat CartesiaTTSService against the Cartesia fake.
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from agent.audio import canonical_ulaw, pcm16_to_ulaw, ulaw_to_pcm16
from agent.cli.main import main
from agent.config import Config
from agent.graph import load_graph
from agent.phrases.build import build
from agent.phrases.cache import entry_states, load_phrase_book, voice_of_graph
from agent.phrases.routes import load_routes

ROOT = Path(__file__).resolve().parents[2]

GRAPH = """\
# yaml-language-server: $schema=./graph.schema.json
name: cachetest
call: {greeting: "Hello, caller."}
chain: [stt, router, llm, tts]
nodes:
  stt: {type: deepgram_stt}
  router: {type: intent_router, routes: ../cache/routes.yaml}
  llm: {type: groq_llm, prompt: prompt.md}
  tts: {type: cartesia_tts, voice: voice-one}
"""
ROUTES = """\
source_voice: test-mic
routes:
  hours:
    examples: [when are you open]
    say: "We are open all day."
phrases:
  greeting: "Hello, caller."
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "graphs").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "graphs" / "cachetest.yaml").write_text(GRAPH)
    (tmp_path / "graphs" / "prompt.md").write_text("Be brief.")
    (tmp_path / "cache" / "routes.yaml").write_text(ROUTES)
    return tmp_path


def config(project: Path, fakes=None, **env: str) -> Config:
    base = {"GRAPHS_DIR": str(project / "graphs"), "CARTESIA_API_KEY": "sk-test"}
    if fakes is not None:
        base["CARTESIA_BASE_URL"] = fakes.ws_url
    return Config.load(env={**base, **env}, dotenv_path=None)


async def run_build(project: Path, cfg: Config, check: bool = False) -> tuple[int, str, str]:
    graph = load_graph(project / "graphs" / "cachetest.yaml", cfg)
    out, err = io.StringIO(), io.StringIO()
    code = await build(graph, cfg, check=check, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def states(project: Path, cfg: Config) -> dict[str, str]:
    graph = load_graph(project / "graphs" / "cachetest.yaml", cfg)
    routes = load_routes(project / "cache" / "routes.yaml")
    found = entry_states(routes, project / "cache", voice_of_graph(graph, cfg))
    return {s.name: f"{s.state} {s.reason}".strip() for s in found}


def fake_ulaw(fakes, text: str) -> bytes:
    [pcm] = [a for c, a in fakes.cartesia.audio_by_context.items() if text in
             fakes.cartesia.transcripts_by_context()[c]]  # fmt: skip
    return canonical_ulaw(pcm16_to_ulaw(pcm))


async def test_renders_through_the_graphs_tts_then_skips_fresh_entries(project, fakes):
    cfg = config(project, fakes)
    assert states(project, cfg) == {
        "hours": "missing not in the manifest",
        "greeting": "missing not in the manifest",
    }
    code, out, err = await run_build(project, cfg)
    assert code == 0, err
    cache = project / "cache"
    for name, text in [("hours", "We are open all day."), ("greeting", "Hello, caller.")]:
        assert (cache / f"{name}.ulaw").read_bytes() == fake_ulaw(fakes, text)
    manifest = json.loads((cache / "manifest.json").read_text())
    key = manifest["entries"]["hours"]["key"]
    assert key["text"] == "We are open all day."
    assert (key["provider"], key["voice"]) == ("cartesia_tts", "voice-one")
    assert key["settings"]["model"] == "sonic-3.6"
    assert "2 rendered (0 from source WAVs, 2 by the TTS), 0 fresh skipped" in out
    # the progress bar (tqdm, on stderr) went through every phrase
    assert "audio build" in err and "2/2" in err

    contexts = len(fakes.cartesia.contexts)
    code, out, _ = await run_build(project, cfg)
    assert code == 0 and "0 rendered" in out and "2 fresh skipped" in out
    assert len(fakes.cartesia.contexts) == contexts  # nothing asked of the TTS


async def test_stale_entries_are_detected_and_only_they_are_rebuilt(project, fakes):
    cfg = config(project, fakes)
    assert (await run_build(project, cfg))[0] == 0
    routes = project / "cache" / "routes.yaml"
    routes.write_text(routes.read_text().replace("open all day", "open every day"))
    assert states(project, cfg) == {
        "hours": "stale text changed (was 'We are open all day.')",
        "greeting": "fresh",
    }
    code, out, _ = await run_build(project, cfg, check=True)
    assert code == 1
    assert "stale hours: text changed" in out and "1 of 2 phrases" in out

    contexts = len(fakes.cartesia.contexts)
    code, out, _ = await run_build(project, cfg)
    assert code == 0 and "1 rendered" in out and "1 fresh skipped" in out
    assert len(fakes.cartesia.contexts) == contexts + 1
    assert (project / "cache" / "hours.ulaw").read_bytes() == fake_ulaw(fakes, "every day")
    assert (await run_build(project, cfg, check=True))[0] == 0

    # Another voice makes everything stale; so does a damaged file.
    other = config(project, fakes, CARTESIA_VOICE_ID="x")  # the node sets its own voice
    assert set(states(project, other).values()) == {"fresh"}
    (project / "graphs" / "cachetest.yaml").write_text(GRAPH.replace("voice-one", "voice-two"))
    assert set(states(project, cfg).values()) == {
        "stale voice changed (was cartesia_tts:voice-one)"
    }
    (project / "graphs" / "cachetest.yaml").write_text(GRAPH)
    (project / "cache" / "greeting.ulaw").write_bytes(b"\xff" * 800)
    assert states(project, cfg)["greeting"] == "stale greeting.ulaw changed since it was rendered"
    (project / "cache" / "greeting.ulaw").unlink()
    assert states(project, cfg)["greeting"] == "missing no greeting.ulaw"


def write_wav(path: Path, rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.4 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return samples


async def test_a_source_wav_is_converted_resampled_and_tracked(project):
    cfg = config(project)  # no TTS reachable: every phrase needs a source
    write_wav(project / "cache" / "source" / "hours.wav", 16000)
    write_wav(project / "cache" / "source" / "greeting.wav", 8000, 0.25)
    code, out, err = await run_build(project, cfg)
    assert code == 0, err
    assert "2 rendered (2 from source WAVs, 0 by the TTS)" in out
    hours = (project / "cache" / "hours.ulaw").read_bytes()
    assert len(hours) == 4000  # 0.5 s at 8 kHz
    pcm = np.frombuffer(ulaw_to_pcm16(hours), np.int16).astype(float)
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * 8000 / len(pcm) - 440) < 5  # still a 440 Hz tone
    key = json.loads((project / "cache" / "manifest.json").read_text())["entries"]["hours"]["key"]
    assert (key["provider"], key["voice"]) == ("source", "test-mic")
    assert "rendered hours (source:test-mic" in out

    write_wav(project / "cache" / "source" / "hours.wav", 16000, 0.6)  # re-recorded
    assert states(project, cfg)["hours"] == "stale source_sha256 changed"
    code, out, _ = await run_build(project, cfg)
    assert code == 0 and "1 rendered" in out


async def test_a_phrase_the_tts_cannot_render_fails_with_the_reason(project):
    cfg = Config.load(env={"GRAPHS_DIR": str(project / "graphs")}, dotenv_path=None)
    write_wav(project / "cache" / "source" / "greeting.wav", 8000, 0.25)
    code, out, err = await run_build(project, cfg)
    assert code == 1
    assert "cannot render hours: cannot start the TTS: CARTESIA_API_KEY is not set" in err
    assert "1 rendered (1 from source WAVs, 0 by the TTS), 0 fresh skipped, 1 failed" in out
    assert states(project, cfg)["greeting"] == "fresh"


async def test_a_tts_error_fails_that_phrase_only(project, fakes):
    fakes.cartesia.error_next = 1
    code, out, err = await run_build(project, config(project, fakes))
    assert code == 1
    assert "cannot render hours: the TTS failed" in err
    assert "1 rendered (0 from source WAVs, 1 by the TTS), 0 fresh skipped, 1 failed" in out
    assert (await run_build(project, config(project, fakes)))[0] == 0  # the retry renders it


def test_cli_check_exit_codes(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    monkeypatch.setenv("GRAPHS_DIR", str(project / "graphs"))
    assert main(["audio", "build", "--check", "--graph", "cachetest"]) == 1
    assert "missing hours: not in the manifest" in capsys.readouterr().out
    write_wav(project / "cache" / "source" / "hours.wav", 8000)
    write_wav(project / "cache" / "source" / "greeting.wav", 8000)
    assert main(["audio", "build", "--graph", "cachetest"]) == 0
    assert main(["audio", "build", "--check", "--graph", "cachetest"]) == 0
    assert "cache: all 2 phrases fresh" in capsys.readouterr().out
    assert main(["audio", "build", "--check", "--graph", "nope"]) == 2


async def test_a_router_with_minilm_int8_gets_its_model_converted_once(project, monkeypatch):
    import agent.phrases.minilm_int8 as int8

    graph = project / "graphs" / "cachetest.yaml"
    graph.write_text(GRAPH.replace("routes.yaml}", "routes.yaml, encoder: minilm-int8+wordllama}"))
    write_wav(project / "cache" / "source" / "hours.wav", 8000)
    write_wav(project / "cache" / "source" / "greeting.wav", 8000)
    converted = []
    monkeypatch.setattr(int8, "convert", lambda out: converted.append(out) or out.write_bytes(b"m"))
    cfg = config(project)
    code, out, _ = await run_build(project, cfg, check=True)
    assert code == 1 and "missing minilm-int8.onnx" in out and not converted
    code, out, err = await run_build(project, cfg)
    assert code == 0, err
    assert converted == [project / "cache" / "minilm-int8.onnx"]
    assert "converted" in out and "minilm-int8.onnx" in out
    assert (await run_build(project, cfg, check=True))[0] == 0
    assert (await run_build(project, cfg))[0] == 0 and len(converted) == 1  # fresh: kept


def test_the_phrase_book_holds_fresh_phrases_only(project):
    cfg = config(project)
    write_wav(project / "cache" / "source" / "hours.wav", 8000)
    import asyncio

    assert asyncio.run(run_build(project, cfg))[0] == 1  # greeting has no source, no TTS
    graph = load_graph(project / "graphs" / "cachetest.yaml", cfg)
    book = load_phrase_book(
        load_routes(project / "cache" / "routes.yaml"),
        project / "cache",
        voice_of_graph(graph, cfg),
    )
    assert book.audio("hours") == ulaw_to_pcm16((project / "cache" / "hours.ulaw").read_bytes())
    assert book.audio_for_text("We are open all day.") == book.audio("hours")
    assert book.audio("greeting") is None and book.audio_for_text("Hello, caller.") is None
    assert book.problems == {"greeting": "missing: not in the manifest"}


def test_the_committed_cache_is_complete_and_fresh():
    cfg = Config.load(env={"GRAPHS_DIR": str(ROOT / "graphs")}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs" / "receptionist.yaml", cfg)
    routes = load_routes(ROOT / "audio_cache" / "routes.yaml")
    found = entry_states(routes, ROOT / "audio_cache", voice_of_graph(graph, cfg))
    assert [s.name for s in found if not s.fresh] == [], "run: python -m agent audio build"
    # The call controller finds the graph's texts in the cache.
    phrases = routes.all_phrases()
    call = graph.call
    assert [phrases["greeting"], phrases["idle_prompt"], phrases["goodbye"]] == [
        call.greeting,
        call.idle_prompt,
        call.goodbye,
    ]
