"""Validation passes: every problem at once, located, with did-you-mean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.config import Config
from agent.errors import GraphError
from agent.graph import load_graph, load_graphs, validate_file

BROKEN = Path(__file__).parent / "broken"


def config(**env: str) -> Config:
    return Config.load(env=env, dotenv_path=None)


def problems(path, cfg: Config | None = None, strict: bool = False) -> list[tuple[str, str, str]]:
    report = validate_file(path, cfg or config(), strict=strict)
    return [(p.severity, p.location, p.message) for p in report.problems]


def write(tmp_path: Path, text: str, name: str = "g") -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "p.md").write_text("You are terse.")
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
    name: g
    chain: [vad, stt, llm, tts]
    nodes:
      vad: {type: silero_vad}
      stt: {type: deepgram_stt}
      llm: {type: groq_llm, prompt: prompts/p.md}
      tts: {type: cartesia_tts}
    """


def test_broken_file_reports_everything_at_once():
    assert problems(BROKEN / "broken.yaml") == [
        ("error", "", "unknown field 'descripton' (did you mean 'description'?)"),
        ("error", "call.max_duration_s", "should be a valid integer, unable to parse string as an integer (got 'soon')"),
        ("error", "call", "unknown field 'greting' (did you mean 'greeting'?)"),
        ("error", "chain[2]", "unknown field 'paralel' (did you mean 'parallel'?)"),
        ("error", "nodes.Bad-Name", "node names are lower_snake_case (letters, digits, _)"),
        ("error", "nodes.odd", "unknown field 'typ' (did you mean 'type'?)"),
        ("error", "nodes.vad.confidence", "should be a valid number, unable to parse string as a number (got 'high')"),
        ("error", "nodes.vad", "unknown field 'stop_sec' (did you mean 'stop_secs'?)"),
        ("error", "nodes.llm.prompt", "file not found: prompts/receptionst.md (did you mean 'prompts/receptionist.md'?)"),
        ("error", "chain[5]", "unknown node 'recorder'"),
        ("error", "taps[1]", "unknown node 'ghost'"),
        ("error", "nodes.stt.type", "unknown node type 'deepgram_sst' (did you mean 'deepgram_stt'?)"),
        ("error", "nodes.stt_flux.replace_with.node", "unknown node 'stt_flx' (did you mean 'stt_flux'?)"),
        ("error", "chain[4].parallel", "a parallel block needs at least 2 branches (got 1)"),
        ("error", "chain[6]", "node 'vad' is already used at chain[0]; a node appears once"),
        ("error", "taps[0]", "node 'stt_flux' (deepgram_flux_stt) is not a tap; put it in the chain"),
        # (no "unused node" warnings: with chain[2] unreadable they would be guesses)
        ("warning", "nodes.tts.sample_rate", "16000 Hz, but calls carry 8000 Hz audio: every frame will be resampled (set sample_rate: 8000)"),
        ("error", "nodes.stt_flux.replace_with.when", "environment variable SWITCH_IT is not set; set it or give a default with ${env:SWITCH_IT|default}"),
        ("error", "nodes.llm.temperature", "environment variable LLM_TEMP is not set; set it or give a default with ${env:LLM_TEMP|default}"),
    ]  # fmt: skip


def test_broken_wiring_reports_flow_topology_env_and_settings():
    assert problems(BROKEN / "broken_flow.yaml", strict=True) == [
        ("error", "nodes.spare", "unknown field 'replace_wth' (did you mean 'replace_with'?)"),
        ("error", "chain[1].parallel[1]", "this branch is empty"),
        ("error", "taps[0]", "node 'vad' is already used at chain[2]; a node appears once"),
        ("warning", "nodes.spare", "node 'spare' is not used in the chain or taps"),
        ("error", "chain[0]", "node 'llm' (groq_llm) needs 'transcript' (what the caller said, as text; produced by deepgram_flux_stt, deepgram_stt, whisper_stt) but nothing before it produces it"),
        ("error", "chain", "nothing produces 'audio.out': the caller would hear nothing (add a text-to-speech node: cartesia_tts, piper_tts)"),
        ("error", "nodes.stt.keyterms[2]", "environment variable NOPE is not set; set it or give a default with ${env:NOPE|default}"),
        ("error", "nodes.llm.model", "${env:GROQ_API_KEY} is a secret; graph files never hold secrets (node types read GROQ_API_KEY from the configuration themselves)"),
        ("error", "nodes.llm", "GROQ_API_KEY is not set: it is the Groq API key for the LLM (needed by the groq_llm node 'llm')"),
        ("error", "nodes.stt", "DEEPGRAM_API_KEY is not set: it is the Deepgram API key for speech-to-text (needed by the deepgram_stt node 'stt')"),
    ]  # fmt: skip


def test_load_graphs_raises_one_error_for_every_file():
    with pytest.raises(GraphError) as info:
        load_graphs(BROKEN, config())
    expected = [
        p
        for name in ("broken.yaml", "broken_flow.yaml")
        for p in validate_file(BROKEN / name, config()).errors
    ]
    assert info.value.problems == expected
    assert {Path(p.file).name for p in expected} == {"broken.yaml", "broken_flow.yaml"}


def test_good_graph_has_no_problems(tmp_path):
    assert problems(write(tmp_path, GOOD)) == []


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = write(tmp_path, "name: g\nchain: [vad\nnodes: {}\n")
    assert problems(path) == [
        (
            "error",
            "line 3, column 6",
            "invalid YAML: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence at line 2, column 8)",
        )
    ]


def test_duplicate_keys_are_refused(tmp_path):
    path = write(tmp_path, textwrap.dedent(GOOD) + "  vad: {type: silero_vad}\n")
    [(_, location, message)] = problems(path)
    assert location == "line 8, column 3"
    assert message == "invalid YAML: duplicate key 'vad' (first at line 4)"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", ("error", "", "the file is empty; a graph needs at least name, chain and nodes")),
        ("[a, b]", ("error", "", "the top level should be a mapping (name:, chain:, nodes:, ...)")),
    ],
)
def test_not_a_graph(tmp_path, text, expected):
    assert problems(write(tmp_path, text)) == [expected]


def test_missing_top_level_keys(tmp_path):
    assert problems(write(tmp_path, "name: g\n")) == [
        ("error", "", "missing required field 'chain'"),
        ("error", "", "missing required field 'nodes'"),
    ]


def test_name_must_match_file(tmp_path):
    path = write(tmp_path, GOOD.replace("name: g", "name: other"))
    assert problems(path) == [
        (
            "error",
            "name",
            "'other' does not match the file name 'g' (calls pick a graph by file name)",
        )
    ]


def test_unknown_type_without_close_match_lists_known_types(tmp_path):
    path = write(tmp_path, GOOD.replace("type: silero_vad", "type: quantum"))
    [(_, location, message)] = problems(path)
    assert location == "nodes.vad.type"
    assert message.startswith(
        "unknown node type 'quantum'; known types: audio_pacer, call_recorder, cartesia_tts, "
    )


def test_unknown_type_does_not_cascade_into_flow_errors(tmp_path):
    path = write(tmp_path, GOOD.replace("type: deepgram_stt", "type: deepgram_sst"))
    assert problems(path) == [
        (
            "error",
            "nodes.stt.type",
            "unknown node type 'deepgram_sst' (did you mean 'deepgram_stt'?)",
        )
    ]


def test_unknown_chain_node_did_you_mean(tmp_path):
    path = write(tmp_path, GOOD.replace("[vad, stt, llm, tts]", "[vad, stt, lm, tts]"))
    assert ("error", "chain[2]", "unknown node 'lm' (did you mean 'llm'?)") in problems(path)


def test_empty_chain(tmp_path):
    path = write(tmp_path, GOOD.replace("[vad, stt, llm, tts]", "[]"))
    found = problems(path)
    assert (
        "error",
        "chain",
        "the chain is empty; list the nodes between transport in and out",
    ) in found


def test_no_tts_means_silence(tmp_path):
    path = write(tmp_path, GOOD.replace("[vad, stt, llm, tts]", "[vad, stt, llm]"))
    assert problems(path) == [
        ("warning", "nodes.tts", "node 'tts' is not used in the chain or taps"),
        ("error", "chain", "nothing produces 'audio.out': the caller would hear nothing (add a text-to-speech node: cartesia_tts, piper_tts)"),
    ]  # fmt: skip


def test_order_matters_for_flow(tmp_path):
    path = write(tmp_path, GOOD.replace("[vad, stt, llm, tts]", "[vad, tts, stt, llm]"))
    [(_, location, message)] = problems(path)
    assert location == "chain[1]"
    assert message.startswith(
        "node 'tts' (cartesia_tts) needs 'llm.text' (text for the agent to speak;"
    )


def test_parallel_branches_feed_what_follows(tmp_path):
    text = GOOD.replace("[vad, stt, llm, tts]", "[{parallel: [[vad], [stt]]}, llm, tts]")
    graph = load_graph(write(tmp_path, text), config())
    assert graph.kinds_before("llm") >= {"vad", "transcript", "audio.in"}
    assert graph.kinds_before("stt") == {"audio.in", "dtmf"}  # siblings do not feed each other


def test_missing_prompt_file(tmp_path):
    path = write(tmp_path, GOOD.replace("prompts/p.md", "prompts/q.md"))
    assert problems(path) == [
        ("error", "nodes.llm.prompt", "file not found: prompts/q.md (did you mean 'prompts/p.md'?)")
    ]


def test_call_settings_defaults_and_overrides(tmp_path):
    text = textwrap.dedent(GOOD) + "call: {greeting: Hi, max_duration_s: '${env:MAX_CALL|60}'}\n"
    graph = load_graph(write(tmp_path, text), config())
    assert graph.call.greeting == "Hi"
    assert graph.call.max_duration_s == 60
    assert graph.call.idle_timeout_s == 6 and graph.call.max_idle_prompts == 2
