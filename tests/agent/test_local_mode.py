"""agent/local_mode.py: no provider keys (and no DEFAULT_GRAPH) → serve the local graph."""

from __future__ import annotations

from agent.config import Config
from agent.local_mode import LOCAL_GRAPH, choose_default_graph


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


def test_no_keys_serves_the_local_graph_and_says_so_in_one_line():
    chosen, line = choose_default_graph(config())
    assert chosen.default_graph == LOCAL_GRAPH
    assert line and "\n" not in line
    assert "no provider keys" in line and "scripted answers" in line


def test_the_line_names_a_local_llm_when_one_is_configured():
    _, line = choose_default_graph(config(LLM_BASE_URL="http://127.0.0.1:11434/v1"))
    assert "http://127.0.0.1:11434/v1" in line and "llama3.2" in line


def test_any_provider_key_keeps_the_configured_default():
    for key in ("DEEPGRAM_API_KEY", "GROQ_API_KEY", "CARTESIA_API_KEY"):
        chosen, line = choose_default_graph(config(**{key: "k-123"}))
        assert chosen.default_graph == "receptionist" and line is None


def test_an_explicit_default_graph_is_respected_without_keys():
    chosen, line = choose_default_graph(config(DEFAULT_GRAPH="receptionist"))
    assert chosen.default_graph == "receptionist" and line is None
