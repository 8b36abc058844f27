"""Checking conversation-tests files (agent/scenarios/read.py): every problem at once, each
with file, line, field and a did-you-mean; names checked against the graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.config import Config
from agent.scenarios.read import read_tests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def graphs(tmp_path) -> Path:
    target = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", target)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    return target


def problems(graphs: Path, text: str, name: str = "receptionist") -> list[str]:
    path = graphs / f"{name}.tests.yaml"
    path.write_text(text)
    config = Config.load(env={"GRAPHS_DIR": str(graphs)}, dotenv_path=None)
    return [str(p) for p in read_tests(path, config).problems]


@pytest.mark.parametrize("name", ["receptionist", "local", "reminder"])
def test_the_shipped_tests_files_are_valid(name):
    config = Config.load(env={"GRAPHS_DIR": str(ROOT / "graphs")}, dotenv_path=None)
    report = read_tests(ROOT / "graphs" / f"{name}.tests.yaml", config)
    assert report.problems == [] and report.tests is not None


def test_a_misspelt_field_names_file_line_and_suggests(graphs):
    found = problems(
        graphs,
        "scenarios:\n"
        "  - name: a\n"
        "    steps:\n"
        "      - say: hello\n"
        "        expct: {route: pricing}\n",
    )
    assert found == [
        f"{graphs / 'receptionist.tests.yaml'}:5: error scenarios[0].steps[0]: "
        "unknown field 'expct' (did you mean 'expect'?)"
    ]


def test_a_step_does_exactly_one_thing(graphs):
    [two, none] = problems(
        graphs,
        "scenarios:\n  - name: a\n    steps:\n      - {say: hi, press: '1'}\n      - {expect: {llm: true}}\n",
    )
    assert ":4: error scenarios[0].steps[0]: a step does exactly one of" in two
    assert "(got say, press)" in two
    assert ":5: error scenarios[0].steps[1]:" in none and "(got none)" in none


def test_names_are_checked_against_the_graph(graphs):
    found = problems(
        graphs,
        "env: {TRANSFER_NUMBR: '+15550003333'}\n"
        "scenarios:\n"
        "  - name: a\n"
        "    at: '2026-12-07T23:00:00'\n"
        "    steps:\n"
        "      - say: hi\n"
        "        reply: {tool: transfer_cal}\n"
        "        expect: {route: pricng, transfer: frontdesk, says_variable: name}\n"
        "  - name: a\n"
        "    steps: [{press: '0'}]\n",
    )
    text = "\n".join(found)
    assert ":1: error env.TRANSFER_NUMBR: 'TRANSFER_NUMBR' is neither a setting" in text
    assert "(did you mean 'TRANSFER_NUMBER'?)" in text
    assert ":4: error scenarios[0].at: graph 'receptionist' has no hours" in text
    assert "unknown tool 'transfer_cal' (did you mean 'transfer_call'?)" in text
    assert (
        ":8: error scenarios[0].steps[0].expect.route: unknown route 'pricng' (did you mean 'pricing'?)"
        in text
    )
    assert "no transfer destination 'frontdesk' (did you mean 'front_desk'?)" in text
    assert (
        "says_variable: says_variable checks a call variable the agent says on an outbound "
        "call; this scenario has no outbound:" in text
    )
    assert ":9: error scenarios[1].name: 'a' is also scenario 0" in text


def test_the_local_graph_has_no_llm_to_script(graphs):
    [problem] = problems(
        graphs, "scenarios:\n  - name: a\n    steps:\n      - {say: hi, reply: Hello.}\n", "local"
    )
    assert "steps[0].reply: graph 'local' has no groq_llm node" in problem


def test_a_tests_file_for_no_graph_suggests_one(graphs):
    [problem] = problems(
        graphs, "scenarios: [{name: a, steps: [{hang_up: true}]}]\n", "receptionst"
    )
    assert "unknown graph 'receptionst'" in problem and "receptionist" in problem


def test_yaml_syntax_is_located(graphs):
    [problem] = problems(graphs, "scenarios:\n  - name: a\n   steps: [\n")
    assert "invalid YAML" in problem and "line" in problem


def test_graph_files_do_not_include_tests_files():
    from agent.graph.loader import graph_names

    assert graph_names(ROOT / "graphs") == ["local", "receptionist", "reminder"]


def test_secrets_never_go_in_a_tests_file(graphs):
    [problem] = problems(
        graphs, "env: {GROQ_API_KEY: gsk-real}\nscenarios: [{name: a, steps: [{hang_up: true}]}]\n"
    )
    assert ":1: error env.GROQ_API_KEY: GROQ_API_KEY is a secret" in problem


def test_an_outbound_scenario_brings_the_graphs_required_variables(graphs):
    found = problems(
        graphs,
        "scenarios:\n"
        "  - name: a\n"
        "    outbound:\n"
        "      vars: {nmae: Ann}\n"
        "      expect: {says_variable: [nmae, time], voicemail: true}\n",
        "reminder",
    )
    text = "\n".join(found)
    assert (
        ":4: error scenarios[0].outbound.vars.nmae: graph 'reminder' has no call variable "
        "'nmae' (did you mean 'name'?); its variables: name, time" in text
    )
    # Each required variable missing is named, as POST /calls would refuse the call.
    assert (
        ":4: error scenarios[0].outbound.vars: the call variable 'name' is required by graph "
        "'reminder' (vars:); a call without it is refused: give it in outbound.vars" in text
    )
    assert "the call variable 'time' is required" in text
    assert (
        ":5: error scenarios[0].outbound.expect.says_variable: 'time' is not one of the "
        "scenario's outbound.vars" in text
    )
    assert (
        "outbound.expect.voicemail: voicemail: true needs an answering machine (outbound: "
        "answers: voicemail)" in text
    )
    assert len(found) == 5, text


def test_a_says_variable_name_is_suggested_and_an_empty_value_refused(graphs):
    found = problems(
        graphs,
        "scenarios:\n"
        "  - name: a\n"
        "    outbound: {vars: {name: Ann, time: ''}}\n"
        "    steps:\n"
        "      - say: sure\n"
        "        expect: {says_variable: [nam, time]}\n",
        "reminder",
    )
    assert found == [
        f"{graphs / 'reminder.tests.yaml'}:6: error scenarios[0].steps[0].expect.says_variable: "
        "'nam' is not one of the scenario's outbound.vars (did you mean 'name'?)",
        f"{graphs / 'reminder.tests.yaml'}:6: error scenarios[0].steps[0].expect.says_variable: "
        "outbound.vars.time is empty: every answer contains it",
    ]


def test_outbound_shapes_the_models_refuse(graphs):
    found = problems(
        graphs,
        "scenarios:\n"
        "  - name: a machine with steps\n"
        "    outbound: {vars: {name: Ann, time: 3 pm}, answers: voicemail}\n"
        "    steps: [{say: hi}]\n"
        "  - name: from on an outbound call\n"
        "    from: '+15550001111'\n"
        "    outbound: {vars: {name: Ann, time: 3 pm}, answers: voicmail}\n"
        "  - name: no steps inbound\n"
        "    steps: []\n"
        "  - name: a listening time too short\n"
        "    steps: [{say: hi, expect: {no_answer: 50}}]\n",
        "reminder",
    )
    text = "\n".join(found)
    assert "scenarios[0]: an answering machine has no steps" in text
    assert "scenarios[1].outbound.answers: " in text and "'person' or 'voicemail'" in text
    assert "scenarios[2]: a scenario needs steps" in text
    assert "scenarios[3].steps[0].expect.no_answer" in text and "100" in text
