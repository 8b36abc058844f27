"""agent/local_mode.py: no provider keys (and no DEFAULT_GRAPH, or an empty one) → the local graph."""

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


def test_an_empty_default_graph_counts_as_not_set():
    # .env.example writes `DEFAULT_GRAPH=`: a keyless copy of it must serve the local graph.
    for empty in ("", "  "):
        chosen, line = choose_default_graph(config(DEFAULT_GRAPH=empty))
        assert chosen.default_graph == LOCAL_GRAPH and line and "local graph" in line


def test_an_explicit_default_graph_is_respected_without_keys_and_says_local_mode_is_off():
    # Asked for by name: served as asked, so its missing keys stop the start, named (the
    # graph loader's error); the one line before it says why local mode did not apply.
    chosen, line = choose_default_graph(config(DEFAULT_GRAPH="receptionist"))
    assert chosen.default_graph == "receptionist"
    assert line and "\n" not in line
    assert "DEFAULT_GRAPH=receptionist" in line and "leave DEFAULT_GRAPH empty" in line


def test_an_explicit_local_default_graph_needs_no_note():
    chosen, line = choose_default_graph(config(DEFAULT_GRAPH=LOCAL_GRAPH))
    assert chosen.default_graph == LOCAL_GRAPH and line is None
