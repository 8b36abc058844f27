"""agent/cli/main.py: `python -m agent graph check|show|schema` and `config` reach their handlers
with the right arguments and exit codes (the handlers themselves: tests/graph)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "graph" / "golden"
BROKEN = ROOT / "tests" / "graph" / "broken" / "broken.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """The CLI reads os.environ and ./.env: pin both."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAPHS_DIR", str(ROOT / "graphs"))
    monkeypatch.setenv("USE_DEEPGRAM_FLUX", "false")
    monkeypatch.delenv("GROQ_MODEL", raising=False)


def test_graph_check_validates_every_graph(capsys):
    assert main(["graph", "check"]) == 0
    out = capsys.readouterr().out
    assert "receptionist.yaml: ok" in out


def test_graph_check_of_a_broken_file_fails_listing_problems(capsys):
    assert main(["graph", "check", str(BROKEN)]) == 1
    out = capsys.readouterr().out
    assert out.count(": error ") > 1  # every problem, not just the first


def test_graph_check_with_no_graphs_fails(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHS_DIR", str(tmp_path))
    assert main(["graph", "check"]) == 1
    assert "no graph files" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("mermaid", "mmd")])
def test_graph_show_draws_the_golden_picture(capsys, fmt, suffix):
    assert main(["graph", "show", "receptionist", "--format", fmt]) == 0
    assert capsys.readouterr().out == (GOLDEN / f"receptionist.{suffix}").read_text()


def test_graph_show_defaults_to_text(capsys):
    assert main(["graph", "show", "receptionist"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[0]
        == "in ! vad ! stt ! router ! llm ! tts ! pacer ! out"
    )


def test_graph_show_unknown_graph_suggests_a_name(capsys):
    assert main(["graph", "show", "receptionst"]) == 1
    err = capsys.readouterr().err
    assert "receptionst" in err and "did you mean 'receptionist'" in err


def test_graph_show_rejects_an_unknown_format(capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", "show", "receptionist", "--format", "png"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_graph_schema_prints_json_schema(capsys):
    assert main(["graph", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    assert {"name", "chain", "nodes"} <= set(schema["properties"])


def test_config_example_is_the_committed_env_example(capsys):
    assert main(["config", "example"]) == 0
    assert capsys.readouterr().out == (ROOT / ".env.example").read_text()


def test_a_bad_setting_stops_a_command_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(SystemExit) as info:
        main(["graph", "check"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "LOG_FORMAT" in err


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_run_event_loop_uses_the_configured_loop():
    import asyncio

    from agent.cli.serve import run_event_loop

    async def loop_module():
        return type(asyncio.get_running_loop()).__module__

    assert run_event_loop(loop_module(), "uvloop").startswith("uvloop")
    assert run_event_loop(loop_module(), "asyncio").startswith("asyncio")
