"""`${env:VAR}` / `${env:VAR|default}` substitution, and replace_with driven by it."""

from __future__ import annotations

import textwrap

import pytest

from agent.config import Config
from agent.graph import load_graph, validate_file
from agent.graph.envsubst import parse_bool, substitute

ENV = {"NAME": "Acme", "EMPTY": "", "RATE": "16000"}


def test_plain_strings_are_untouched():
    result = substitute({"a": "no refs", "b": 3, "c": None, "d": True}, ENV)
    assert result.value == {"a": "no refs", "b": 3, "c": None, "d": True}
    assert result.problems == [] and result.unresolved == set()


def test_set_default_and_embedded():
    data = {"a": "${env:NAME}", "b": "${env:MISSING|fallback}", "c": "Hi ${env:NAME}, ${env:NAME}!"}
    assert substitute(data, ENV).value == {"a": "Acme", "b": "fallback", "c": "Hi Acme, Acme!"}


def test_empty_default_and_empty_value():
    data = {"a": "${env:MISSING|}", "b": "${env:EMPTY|x}"}
    assert substitute(data, ENV).value == {"a": "", "b": "x"}  # empty counts as unset


def test_nested_in_lists_and_mappings():
    data = {"nodes": {"stt": {"keyterms": ["${env:NAME}", "${env:GONE}", {"k": "${env:NAME}"}]}}}
    result = substitute(data, ENV)
    assert result.value["nodes"]["stt"]["keyterms"] == ["Acme", "${env:GONE}", {"k": "Acme"}]
    assert result.unresolved == {("nodes", "stt", "keyterms", 1)}
    [(loc, message)] = result.problems
    assert loc == ("nodes", "stt", "keyterms", 1)
    assert message == (
        "environment variable GONE is not set; set it or give a default with ${env:GONE|default}"
    )


def test_missing_variable_did_you_mean():
    [(_, message)] = substitute({"a": "${env:NAM}"}, ENV).problems
    assert message.startswith("environment variable NAM is not set (did you mean 'NAME'?)")


def test_settings_fall_back_to_their_defaults():
    assert (
        substitute("${env:CARTESIA_VOICE_ID}", {}).value == "f786b574-daa5-4673-aa0c-cbe3e8534c02"
    )
    assert substitute("${env:GROQ_MODEL}", {"GROQ_MODEL": "m"}).value == "m"


def test_secrets_are_refused_even_when_set():
    result = substitute({"k": "${env:DEEPGRAM_API_KEY}"}, {"DEEPGRAM_API_KEY": "dg-secret"})
    [(loc, message)] = result.problems
    assert loc == ("k",) and "is a secret" in message and "dg-secret" not in message
    assert result.value == {"k": "${env:DEEPGRAM_API_KEY}"}


@pytest.mark.parametrize("text", ["${NAME}", "${env:}", "${env:1X}", "${ENV:NAME}"])
def test_malformed_references(text):
    [(_, message)] = substitute(text, ENV).problems
    assert message.endswith("write ${env:VAR} or ${env:VAR|default}")


def test_dollar_dollar_escapes():
    assert substitute("cost $${env:NAME} ${env:NAME}", ENV).value == "cost ${env:NAME} Acme"


@pytest.mark.parametrize(
    "value,expected", [(True, True), ("yes", True), ("1", True), ("off", False), ("", False)]
)
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


def test_parse_bool_rejects_other_words():
    with pytest.raises(ValueError, match="expected true or false"):
        parse_bool("maybe")


def test_numbers_from_env_are_validated_as_numbers(tmp_path):
    (tmp_path / "g.yaml").write_text(
        textwrap.dedent(
            """\
            name: g
            chain: [vad, stt, llm, tts]
            nodes:
              vad: {type: silero_vad, stop_secs: "${env:STOP|0.3}"}
              stt: {type: deepgram_stt}
              llm: {type: groq_llm, prompt: p.md}
              tts: {type: cartesia_tts, sample_rate: "${env:RATE}"}
            """
        )
    )
    (tmp_path / "p.md").write_text("prompt")
    report = validate_file(tmp_path / "g.yaml", Config.load(env=ENV, dotenv_path=None))
    assert report.graph is not None
    assert report.graph.nodes["vad"].params.stop_secs == 0.3
    assert report.graph.nodes["tts"].params.sample_rate == 16000
    assert [p.location for p in report.warnings] == ["nodes.tts.sample_rate"]


# --- replace_with ---------------------------------------------------------------------------

GRAPH = """\
name: g
chain: [vad, stt, llm, tts]
nodes:
  vad: {type: silero_vad}
  stt: {type: deepgram_stt, replace_with: {node: stt_flux, when: WHEN}}
  stt_flux: {type: deepgram_flux_stt}
  llm: {type: groq_llm, prompt: p.md}
  tts: {type: cartesia_tts}
"""


def graph_file(tmp_path, when: str = '"${env:USE_DEEPGRAM_FLUX|false}"', text: str = GRAPH):
    (tmp_path / "p.md").write_text("prompt")
    path = tmp_path / "g.yaml"
    path.write_text(text.replace("WHEN", when))
    return path


@pytest.mark.parametrize(
    "flux,runs", [(None, "stt"), ("false", "stt"), ("true", "stt_flux"), ("on", "stt_flux")]
)
def test_replace_with_follows_the_env(tmp_path, flux, runs):
    env = {} if flux is None else {"USE_DEEPGRAM_FLUX": flux}
    graph = load_graph(graph_file(tmp_path), Config.load(env=env, dotenv_path=None))
    assert graph.chain == ("vad", runs, "llm", "tts")
    assert set(graph.nodes) == {"vad", runs, "llm", "tts"}
    assert ("turn" in graph.kinds_before("llm")) is (runs == "stt_flux")
    if runs == "stt_flux":
        assert graph.nodes["stt_flux"].replaces == "stt"


def test_replace_with_bad_when(tmp_path):
    report = validate_file(
        graph_file(tmp_path, when="maybe"), Config.load(env={}, dotenv_path=None)
    )
    assert [(p.location, p.message) for p in report.problems] == [
        ("nodes.stt.replace_with.when", "expected true or false, got 'maybe'")
    ]


@pytest.mark.parametrize(
    "change,message",
    [
        ("node: stt_flux", "node: stt"),
        ("node: stt_flux", "node: tts"),
    ],
)
def test_replace_with_misuse(tmp_path, change, message):
    text = GRAPH.replace(change, message)
    report = validate_file(
        graph_file(tmp_path, "true", text), Config.load(env={}, dotenv_path=None)
    )
    found = [(p.location, p.message) for p in report.errors]
    expected = {
        "node: stt": "a node cannot replace itself",
        "node: tts": "'tts' is also used at chain[3]; a replacement is used only through replace_with",
    }[message]
    assert found == [("nodes.stt.replace_with.node", expected)]
