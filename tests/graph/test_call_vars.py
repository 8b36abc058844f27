"""Call variables: `vars:` declared in a graph, `${call.vars.NAME}` checked where it is used
(did you mean; only where words are said live or the prompt), rendered per call."""

from __future__ import annotations

from pathlib import Path

import yaml

from agent.config import Config
from agent.graph import validate_file
from agent.graph.callvars import references, render, render_settings
from agent.graph.model import CallSettings

CONFIG = Config.load(env={}, dotenv_path=None)


def graph_file(
    tmp_path: Path, *, call: dict, vars: dict | None = None, prompt: str = "Hi."
) -> Path:
    (tmp_path / "prompt.md").write_text(prompt)
    data = {
        "name": "outbound",
        "call": call,
        "chain": ["stt", "llm", "tts"],
        "nodes": {
            "stt": {"type": "deepgram_stt"},
            "llm": {"type": "groq_llm", "prompt": "prompt.md"},
            "tts": {"type": "cartesia_tts"},
        },
    }
    if vars is not None:
        data["vars"] = vars
    path = tmp_path / "outbound.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def messages(report) -> list[str]:
    return [f"{p.location}: {p.message}" for p in report.errors]


def test_declared_variables_in_greeting_voicemail_and_prompt_are_valid(tmp_path):
    path = graph_file(
        tmp_path,
        vars={"name": {"required": True}, "time": {}},
        call={"greeting": "Hi ${call.vars.name}", "voicemail": "At ${call.vars.time}."},
        prompt="Remind ${call.vars.name}.",
    )
    report = validate_file(path, CONFIG)
    assert messages(report) == []
    assert report.graph.vars["name"].required and not report.graph.vars["time"].required
    assert report.graph.call.greeting == "Hi ${call.vars.name}"  # rendered per call, not here


def test_a_misspelt_variable_is_an_error_with_did_you_mean(tmp_path):
    path = graph_file(
        tmp_path,
        vars={"name": {}},
        call={"greeting": "Hi ${call.vars.nmae}"},
        prompt="Remind ${call.vars.nam}.",
    )
    errors = messages(validate_file(path, CONFIG))
    assert any(
        e.startswith("call.greeting:")
        and "unknown call variable 'nmae' (did you mean 'name'?)" in e
        for e in errors
    ), errors
    assert any(e.startswith("nodes.llm.prompt:") and "'nam'" in e for e in errors), errors


def test_cached_phrases_cannot_hold_variables(tmp_path):
    path = graph_file(tmp_path, vars={"name": {}}, call={"fallback": "Sorry ${call.vars.name}"})
    [error] = messages(validate_file(path, CONFIG))
    assert error.startswith("call.fallback:") and "cannot be filled in here" in error


def test_bad_variable_names_are_refused(tmp_path):
    path = graph_file(tmp_path, vars={"First Name": {}}, call={})
    [error] = messages(validate_file(path, CONFIG))
    assert "snake_case" in error


def test_rendering_fills_in_each_reference_and_leaves_other_text():
    assert references("Hi ${call.vars.name} at ${call.vars.time}") == ["name", "time"]
    assert render("Hi ${call.vars.name}, ${call.vars.x}!", {"name": "Ann"}) == "Hi Ann, !"
    assert render("Plain", {"name": "Ann"}) == "Plain" and render(None, {}) is None
    settings = CallSettings(greeting="Hi ${call.vars.name}", voicemail="Bye ${call.vars.name}")
    rendered = render_settings(settings, {"name": "Ann"})
    assert (rendered.greeting, rendered.voicemail) == ("Hi Ann", "Bye Ann")
    assert rendered.fallback == settings.fallback
