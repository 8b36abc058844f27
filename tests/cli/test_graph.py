"""`graph check|show|schema` handlers, and finding graphs by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli.graph import check, schema, show
from agent.config import Config
from agent.errors import GraphNotFound
from agent.graph import find_graph, find_graph_hint, graph_names

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "graph" / "broken"


def config(**env) -> Config:
    return Config.load(env={"GRAPHS_DIR": str(ROOT / "graphs"), **env}, dotenv_path=None)


def test_check_defaults_to_every_graph(capsys):
    assert check([], config()) == 0
    lines = capsys.readouterr().out.splitlines()
    # every graph, then every graph's conversation tests (graphs/NAME.tests.yaml; the
    # outbound reminder's too: its scenarios bring the call's variables)
    tested = [
        n for n in graph_names(ROOT / "graphs") if (ROOT / "graphs" / f"{n}.tests.yaml").exists()
    ]
    assert "reminder" in tested
    assert len(lines) == len(graph_names(ROOT / "graphs")) + len(tested)
    assert all(line.endswith(": ok") for line in lines)
    assert lines[-1] == "graphs/reminder.tests.yaml: ok"


def test_check_reports_a_broken_tests_file_by_line(capsys, tmp_path):
    graphs = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", graphs)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")
    broken = graphs / "receptionist.tests.yaml"
    broken.write_text(
        "scenarios:\n  - name: a\n    steps:\n      - {say: hi, expect: {route: pricng}}\n"
    )
    assert check([str(broken)], config()) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith(
        ".tests.yaml:4: error scenarios[0].steps[0].expect.route: unknown route 'pricng' "
        "(did you mean 'pricing'?)"
    )


def test_check_prints_every_problem_and_fails(capsys):
    assert (
        check([str(BROKEN / "broken.yaml"), str(ROOT / "graphs/receptionist.yaml")], config()) == 1
    )
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if ": error " in line]) == 18
    assert len([line for line in lines if ": warning " in line]) == 1
    assert lines[-1].endswith("receptionist.yaml: ok")


def test_check_strict_needs_keys(capsys):
    assert check([str(ROOT / "graphs/receptionist.yaml")], config(), strict=True) == 1
    assert "GROQ_API_KEY is not set" in capsys.readouterr().out


def test_check_counts_warnings(tmp_path, capsys):
    text = (
        (ROOT / "graphs/receptionist.yaml").read_text().replace("name: receptionist", "name: warn")
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts/receptionist.md").write_text("hi")
    text = text.replace("../audio_cache/", f"{ROOT / 'audio_cache'}/")
    text = text.replace("\nnodes:\n", "\nnodes:\n  spare: {type: silero_vad}\n")
    (tmp_path / "warn.yaml").write_text(text)
    assert check([str(tmp_path / "warn.yaml")], config()) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("warn.yaml: ok (1 warning)")


def test_check_with_no_files(tmp_path, capsys):
    assert check([], config(GRAPHS_DIR=str(tmp_path))) == 1
    assert "no graph files" in capsys.readouterr().err


def test_show_by_name_and_path(capsys):
    assert show("receptionist", "text", config()) == 0
    assert capsys.readouterr().out == (
        "in ! vad ! stt ! router ! llm ! tts ! pacer ! out\ntaps: recorder, extraction\n"
        "channels: pacer ~media~> out, tts <~read-ahead~ pacer\n"
        "transfer: front_desk (off: no number)\n"
    )
    assert show(str(ROOT / "graphs/receptionist.yaml"), "mermaid", config()) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")


def test_show_flux(capsys):
    env = {"USE_DEEPGRAM_FLUX": "true", "TRANSFER_NUMBER": "+15550003333"}
    assert show("receptionist", "text", config(**env)) == 0
    assert capsys.readouterr().out == (
        "in ! vad ! stt_flux ! router ! llm ! tts ! pacer ! out\ntaps: recorder, extraction\n"
        "channels: pacer ~media~> out, tts <~read-ahead~ pacer\n"
        "transfer: front_desk (rings 20 s)\n"
    )


def test_show_unknown_graph(capsys):
    assert show("recepshunist", "text", config()) == 1
    assert "did you mean 'receptionist'?" in capsys.readouterr().err


def test_show_broken_graph(capsys):
    assert show(str(BROKEN / "broken.yaml"), "text", config()) == 1
    assert "unknown field 'stop_sec'" in capsys.readouterr().err


def test_show_bad_format(capsys):
    assert show("receptionist", "svg", config()) == 2


def test_schema_prints_json(capsys):
    assert schema() == 0
    printed = json.loads(capsys.readouterr().out)
    assert (
        printed["properties"]["nodes"]["additionalProperties"]["discriminator"]["propertyName"]
        == "type"
    )


def test_find_graph(tmp_path):
    shutil.copy(ROOT / "graphs/receptionist.yaml", tmp_path / "receptionist.yaml")
    (tmp_path / "notes.txt").write_text("not a graph")
    assert graph_names(tmp_path) == ["receptionist"]
    assert find_graph("receptionist", tmp_path) == tmp_path / "receptionist.yaml"
    with pytest.raises(GraphNotFound) as info:
        find_graph("receptonist", tmp_path)
    assert str(info.value).endswith(
        "unknown graph 'receptonist' (did you mean 'receptionist'?); available: receptionist"
    )
    assert find_graph_hint("sales", ["sale", "support"]) == " (did you mean 'sale'?)"
    assert find_graph_hint("zzz", ["sale"]) == ""
