"""load_servable_graphs: what a server serves on this machine, and what it skips and why.

A graph that is fine but needs a key or a package this machine lacks is skipped; the default
graph is not (the server must refuse to start, naming what is missing); a broken file is an
error whatever it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ConfigDict

from agent.config import Config
from agent.errors import GraphError
from agent.graph import NodeType, load_servable_graphs
from agent.graph.registry import BUILTIN
from agent.nodes.params import NodeParams

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg-test", "GROQ_API_KEY": "gq-test", "CARTESIA_API_KEY": "ca-test"}


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


@pytest.fixture
def graphs_dir(tmp_path) -> Path:
    target = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", target)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    return target


def test_without_keys_the_cloud_graph_is_skipped_and_says_why(graphs_dir):
    graphs, skipped = load_servable_graphs(graphs_dir, config(), default="local")
    assert "local" in graphs and "receptionist" not in graphs
    reasons = " ".join(p.message for p in skipped["receptionist"])
    assert "DEEPGRAM_API_KEY" in reasons and all(p.unavailable for p in skipped["receptionist"])


def test_with_keys_every_graph_is_served(graphs_dir):
    graphs, skipped = load_servable_graphs(graphs_dir, config(**KEYS), default="receptionist")
    assert {"local", "receptionist"} <= set(graphs) and not skipped


def test_the_default_graph_must_be_servable(graphs_dir):
    with pytest.raises(GraphError, match="DEEPGRAM_API_KEY is not set"):
        load_servable_graphs(graphs_dir, config(), default="receptionist")


def test_a_broken_graph_is_an_error_even_when_not_the_default(graphs_dir):
    (graphs_dir / "broken.yaml").write_text("name: broken\nchain: [nope]\nnodes: {}\n")
    with pytest.raises(GraphError, match="broken.yaml"):
        load_servable_graphs(graphs_dir, config(**KEYS), default="receptionist")


class _NoParams(NodeParams):
    model_config = ConfigDict(extra="forbid")


def test_a_missing_package_makes_a_graph_unavailable_with_the_install_command(tmp_path):
    registry = BUILTIN.extended(
        NodeType(
            name="exotic_stt",
            summary="needs a package nobody has",
            params=_NoParams,
            builder="x:y",
            consumes=frozenset({"audio.in"}),
            produces=frozenset({"transcript"}),
            packages=("no_such_package_switchboard_test",),
        )
    )
    folder = tmp_path / "graphs"
    folder.mkdir()
    (folder / "exotic.yaml").write_text(
        "name: exotic\nchain: [stt, reply, tts]\nnodes:\n  stt: {type: exotic_stt}\n"
        "  reply: {type: local_responder, prompt: p.md}\n  tts: {type: piper_tts}\n"
    )
    (folder / "p.md").write_text("Be brief.")
    graphs, skipped = load_servable_graphs(folder, config(), default="other", registry=registry)
    assert not graphs
    [problem] = skipped["exotic"]
    assert problem.unavailable
    assert "no_such_package_switchboard_test" in problem.message
    assert "pip install -e '.[local]'" in problem.message


def test_graphs_setting_serves_only_the_named_graphs(graphs_dir):
    graphs, _ = load_servable_graphs(
        graphs_dir, config(**KEYS), default="receptionist", only=["receptionist"]
    )
    assert list(graphs) == ["receptionist"]  # the local graph's models are never loaded
    assert config(GRAPHS=" receptionist, local,").graphs == ("receptionist", "local")


def test_graphs_setting_with_an_unknown_name_says_which(graphs_dir):
    with pytest.raises(GraphError, match="reception"):
        load_servable_graphs(graphs_dir, config(**KEYS), default="receptionist", only=["recepton"])
