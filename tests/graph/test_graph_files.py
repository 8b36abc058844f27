"""Every graph in graphs/ loads, validates (lenient and strict), builds, and draws as pinned.

Also: graphs/graph.schema.json and the README's node table are what the code generates.
Set UPDATE_GOLDEN=1 to rewrite the golden drawings after an intended change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.config import Config
from agent.errors import GraphError
from agent.graph import (
    BuildContext,
    CallInfo,
    build_graph,
    draw_mermaid,
    draw_text,
    graph_names,
    load_graph,
    load_graphs,
)
from agent.graph.build import ProcessCache
from agent.graph.schema import README_BEGIN, README_END, graph_schema, node_types_markdown

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "graphs"
GOLDEN = Path(__file__).parent / "golden"
NAMES = graph_names(GRAPHS)
KEYS = {"DEEPGRAM_API_KEY": "dg-test", "GROQ_API_KEY": "gq-test", "CARTESIA_API_KEY": "ca-test"}
FAKE_URLS = {
    "DEEPGRAM_BASE_URL": "http://127.0.0.1:9",
    "GROQ_BASE_URL": "http://127.0.0.1:9/openai/v1",
    "CARTESIA_BASE_URL": "ws://127.0.0.1:9",
}


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


def test_there_are_graphs():
    assert "receptionist" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_loads_without_keys(name):
    graph = load_graph(GRAPHS / f"{name}.yaml", config())
    assert graph.name == name
    assert graph.warnings == ()


@pytest.mark.parametrize("name", NAMES)
def test_strict_needs_the_keys(name):
    path = GRAPHS / f"{name}.yaml"
    graph = load_graph(path, config(**KEYS), strict=True)
    if graph.required_settings():
        with pytest.raises(GraphError) as info:
            load_graph(path, config(), strict=True)
        text = str(info.value)
        for setting in graph.required_settings():
            assert f"{setting} is not set" in text


def test_load_graphs_all_at_once():
    graphs = load_graphs(GRAPHS, config(**KEYS), strict=True)
    assert sorted(graphs) == NAMES


@pytest.mark.parametrize("flux", ["false", "true"])
@pytest.mark.parametrize("name", NAMES)
def test_builds_without_connecting(name, flux):
    cfg = config(**KEYS, **FAKE_URLS, USE_DEEPGRAM_FLUX=flux)
    graph = load_graph(GRAPHS / f"{name}.yaml", cfg, strict=True)
    call = CallInfo(call_sid="CA00000000000000000000000000000001", stream_sid="MZ01")
    built = build_graph(
        graph, BuildContext(config=cfg, graph=graph, call=call, shared=ProcessCache())
    )
    assert built.chain
    assert set(built.nodes) == set(graph.nodes)
    assert all(b.processors or b.observers or b.hooks for b in built.nodes.values())


@pytest.mark.parametrize("fmt,suffix", [("text", "txt"), ("mermaid", "mmd")])
@pytest.mark.parametrize("name", NAMES)
def test_drawings_match_golden(name, fmt, suffix):
    graph = load_graph(GRAPHS / f"{name}.yaml", config())
    drawn = draw_text(graph) if fmt == "text" else draw_mermaid(graph)
    golden = GOLDEN / f"{name}.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(drawn)
    assert golden.is_file(), f"missing {golden}; run with UPDATE_GOLDEN=1"
    assert drawn == golden.read_text()


def test_schema_file_is_current():
    current = json.loads((GRAPHS / "graph.schema.json").read_text())
    assert current == graph_schema(), (
        "graphs/graph.schema.json is stale: run python -m agent graph schema > graphs/graph.schema.json"
    )


def test_readme_node_table_is_current():
    readme = (GRAPHS / "README.md").read_text()
    between = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    assert between.strip() == node_types_markdown().strip(), (
        "the node table in graphs/README.md is stale: regenerate it (see the marker comment)"
    )


def test_graph_files_point_at_the_schema():
    for name in NAMES:
        first = (GRAPHS / f"{name}.yaml").read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=./graph.schema.json"
