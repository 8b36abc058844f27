"""Node type contracts, taps, parallel blocks: validated, drawn and built (with test types)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.config import Config
from agent.graph import (
    BUILTIN,
    BuildContext,
    CallInfo,
    NodeBuild,
    NodeType,
    build_graph,
    draw_mermaid,
    draw_text,
    load_graph,
    validate_file,
)
from agent.graph.build import ProcessCache
from agent.nodes.params import AudioPacerParams, NodeParams

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq", "CARTESIA_API_KEY": "ca"}


class RecorderParams(NodeParams):
    folder: str = "calls"


class MixerParams(NodeParams):
    gain: float = 1.0


def build_recorder(params, ctx, node_name):
    from pipecat.observers.base_observer import BaseObserver

    return NodeBuild(processors=[], observers=[BaseObserver(name=node_name)])


def build_mixer(params, ctx, node_name):
    from pipecat.processors.frame_processor import FrameProcessor

    return NodeBuild(processors=[FrameProcessor(name=node_name)])


def build_broken(params, ctx, node_name):
    raise RuntimeError("no luck")


REGISTRY = BUILTIN.extended(
    NodeType(
        name="recorder",
        summary="test tap",
        params=RecorderParams,
        builder=f"{__name__}:build_recorder",
        consumes=frozenset({"audio.in", "audio.out"}),
        role="tap",
    ),
    NodeType(
        name="mixer",
        summary="test chain node",
        params=MixerParams,
        builder=f"{__name__}:build_mixer",
        consumes=frozenset({"audio.in"}),
        sample_rates=(16000,),
    ),
    NodeType(
        name="listener",
        summary="test tap that wants DTMF-ish things nobody makes",
        params=RecorderParams,
        builder=f"{__name__}:build_broken",
        consumes=frozenset({"turn"}),
        role="tap",
    ),
)

PARALLEL = """\
name: g
chain:
  - vad
  - parallel:
      - [stt, llm, tts]
      - [mixer]
taps: [recorder]
nodes:
  vad: {type: silero_vad}
  stt: {type: deepgram_stt}
  llm: {type: groq_llm, prompt: p.md}
  tts: {type: cartesia_tts}
  mixer: {type: mixer}
  recorder: {type: recorder}
"""


def config(**env) -> Config:
    return Config.load(env=env, dotenv_path=None)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "p.md").write_text("prompt")
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_parallel_and_taps_draw_as_text(tmp_path):
    graph = load_graph(write(tmp_path, PARALLEL), config(), registry=REGISTRY)
    assert draw_text(graph) == (
        "in ! vad ! ( stt ! llm ! tts | mixer ) ! pacer ! out\n"
        "taps: recorder\n"
        "channels: pacer ~media~> out, tts <~read-ahead~ pacer\n"
    )


def test_parallel_and_taps_draw_as_mermaid(tmp_path):
    graph = load_graph(write(tmp_path, PARALLEL), config(), registry=REGISTRY)
    assert draw_mermaid(graph) == textwrap.dedent(
        """\
        flowchart LR
            in([transport in])
            vad["vad<br/>silero_vad"]
            stt["stt<br/>deepgram_stt"]
            llm["llm<br/>groq_llm"]
            tts["tts<br/>cartesia_tts"]
            mixer["mixer<br/>mixer"]
            pacer["pacer<br/>audio_pacer<br/>(added)"]
            out([transport out])
            recorder[/"recorder<br/>recorder"/]
            in --> vad
            vad --> stt
            stt --> llm
            llm --> tts
            vad --> mixer
            tts --> pacer
            mixer --> pacer
            pacer --> out
            pacer == media ==> out
            pacer -. read-ahead .-> tts
            in -.-> recorder
            tts -.-> recorder
        """
    )


OWN_PACER = """
name: g
chain: [vad, stt, llm, tts, slow]
nodes:
  vad: {type: silero_vad}
  stt: {type: deepgram_stt}
  llm: {type: groq_llm, prompt: p.md}
  tts: {type: cartesia_tts}
  slow: {type: audio_pacer, lead_ms: 600}
"""


def test_a_graphs_own_pacer_draws_with_its_channels(tmp_path):
    graph = load_graph(write(tmp_path, OWN_PACER), config(), registry=REGISTRY)
    assert draw_text(graph) == (
        "in ! vad ! stt ! llm ! tts ! slow ! out\n"
        "channels: slow ~media~> out, tts <~read-ahead~ slow\n"
    )
    assert '    slow["slow<br/>audio_pacer"]\n' in draw_mermaid(graph)


def test_the_pacer_must_be_the_chains_last_node(tmp_path):
    text = OWN_PACER.replace("[vad, stt, llm, tts, slow]", "[vad, stt, slow, llm, tts]")
    report = validate_file(write(tmp_path, text), config(), registry=REGISTRY)
    assert (
        "chain[2]",
        "node 'slow' (audio_pacer) writes to transport out's media link; "
        "it must be the chain's last node",
    ) in [(p.location, p.message) for p in report.errors]
    assert not validate_file(write(tmp_path, OWN_PACER), config(), registry=REGISTRY).errors


def test_node_types_declare_only_known_channels():
    from agent.graph.registry import BUILTIN, CHANNELS, NodeType

    assert BUILTIN.get("audio_pacer").channels == {"media", "read_ahead.give"}
    assert BUILTIN.get("cartesia_tts").channels == {"read_ahead.take"}
    assert all(t.channels <= CHANNELS.keys() for t in BUILTIN)
    with pytest.raises(ValueError, match="unknown channels"):
        NodeType("x", "x", AudioPacerParams, "m:f", channels=frozenset({"telepathy"}))


def test_native_rate_warning(tmp_path):
    report = validate_file(write(tmp_path, PARALLEL), config(), registry=REGISTRY)
    assert [(p.severity, p.location, p.message) for p in report.problems] == [
        ("warning", "nodes.mixer", "mixer works at 16000 Hz, but calls carry 8000 Hz audio: every frame will be resampled")
    ]  # fmt: skip


def test_build_parallel_and_taps(tmp_path):
    from pipecat.pipeline.parallel_pipeline import ParallelPipeline
    from pipecat.processors.aggregators.llm_response_universal import LLMAssistantAggregator

    cfg = config(**KEYS)
    graph = load_graph(write(tmp_path, PARALLEL), cfg, strict=True, registry=REGISTRY)
    ctx = BuildContext(config=cfg, graph=graph, call=CallInfo("CA1", "MZ1"), shared=ProcessCache())
    built = build_graph(graph, ctx)
    assert len(built.chain) == 2 and isinstance(built.chain[1], ParallelPipeline)
    assert [type(p) for p in built.after_output] == [LLMAssistantAggregator]
    assert [o.name for o in built.observers] == ["recorder"]
    assert list(built.nodes) == ["vad", "stt", "llm", "tts", "mixer", "recorder"]
    assert built.nodes["llm"].context is not None


def test_a_failing_builder_is_named(tmp_path):
    text = PARALLEL.replace("recorder: {type: recorder}", "recorder: {type: listener}")
    text = text.replace("[stt, llm, tts]", "[stt, llm, tts]\n      - [stt_flux]").replace(
        "mixer: {type: mixer}", "mixer: {type: mixer}\n  stt_flux: {type: deepgram_flux_stt}"
    )
    cfg = config(**KEYS)
    graph = load_graph(write(tmp_path, text), cfg, registry=REGISTRY)
    with pytest.raises(RuntimeError, match="no luck") as info:
        build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"), ProcessCache()))
    assert "while building node 'recorder' (listener) of graph 'g'" in info.value.__notes__


def test_tap_misuse(tmp_path):
    text = PARALLEL.replace("[mixer]", "[mixer, recorder]").replace(
        "taps: [recorder]", "taps: [mixer]"
    )
    report = validate_file(write(tmp_path, text), config(), registry=REGISTRY)
    assert [(p.location, p.message) for p in report.errors] == [
        ("chain[1].parallel[1][1]", "node 'recorder' (recorder) is a tap; list it under taps"),
        ("taps[0]", "node 'mixer' is already used at chain[1].parallel[1][0]; a node appears once"),
    ]


def test_tap_needing_what_nobody_makes(tmp_path):
    text = PARALLEL.replace("recorder: {type: recorder}", "recorder: {type: listener}")
    report = validate_file(write(tmp_path, text), config(), registry=REGISTRY)
    assert [(p.location, p.message) for p in report.errors] == [
        ("taps[0]", "node 'recorder' (listener) needs 'turn' (caller turn started/ended, decided by a service (e.g. Deepgram Flux); produced by deepgram_flux_stt) but nothing in the chain produces it")
    ]  # fmt: skip


def test_node_type_contract_is_checked():
    with pytest.raises(ValueError, match="unknown frame kinds"):
        NodeType("x", "x", RecorderParams, "m:f", consumes=frozenset({"smell"}))

    from pydantic import BaseModel

    class Loose(BaseModel):
        a: int = 1

    with pytest.raises(ValueError, match="extra='forbid'"):
        NodeType("x", "x", Loose, "m:f")
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(REGISTRY.get("mixer"))


def test_builtin_types():
    assert BUILTIN.names() == [
        "audio_pacer",
        "call_recorder",
        "cartesia_tts",
        "deepgram_flux_stt",
        "deepgram_stt",
        "groq_llm",
        "intent_router",
        "lead_extraction",
        "local_responder",
        "piper_tts",
        "silero_vad",
        "whisper_stt",
    ]
    for node_type in BUILTIN:
        assert node_type.load_builder() is not None  # every "module:function" resolves


def test_validating_imports_no_vendor_sdk():
    code = textwrap.dedent(
        """
        import sys
        import agent.graph
        from agent.config import Config
        from agent.graph import load_graphs, draw_mermaid, graph_schema
        from agent.cli.graph import check
        env = {"DEEPGRAM_API_KEY": "x", "GROQ_API_KEY": "x", "CARTESIA_API_KEY": "x"}
        graphs = load_graphs("graphs", Config.load(env=env, dotenv_path=None), strict=True)
        [draw_mermaid(g) for g in graphs.values()]
        graph_schema()
        vendors = ("pipecat", "deepgram", "groq", "openai", "cartesia", "onnxruntime", "numpy")
        print(sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in vendors}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
