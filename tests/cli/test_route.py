"""`python -m agent route TEXT`: every route's score, then the winner (or the LLM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAPHS_DIR", str(ROOT / "graphs"))
    monkeypatch.setenv("USE_DEEPGRAM_FLUX", "false")


def test_a_hit_shows_scores_best_first_and_the_winner(capsys):
    assert main(["route", "how", "much", "is", "it"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "'how much is it'"
    assert out[1].split() == ["route", "score", "threshold", "near-miss", "best", "example"]
    rows = [line.split() for line in out[2:7]]
    assert rows[0][0] == "pricing"
    assert {r[0] for r in rows} == {"pricing", "who_are_you", "stop", "human", "message"}
    scores = [float(r[1]) for r in rows]
    assert scores[0] > scores[1] and scores == sorted(scores, reverse=True)
    thresholds = {r[0]: r[2] for r in rows}
    assert thresholds["pricing"] == "0.65" and thresholds["stop"] == "0.70"  # node's, stop's own
    assert out[7].startswith("-> pricing (1.000 >= 0.65, then offer_message): 'Our plans start")


def test_a_hang_up_route_says_so_and_a_miss_goes_to_the_llm(capsys):
    assert main(["route", "please stop calling me"]) == 0
    assert ", then hang_up)" in capsys.readouterr().out
    assert main(["route", "did anyone leave a message for me"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("-> no route: the LLM answers (")


def test_a_graph_without_a_router(capsys, tmp_path, monkeypatch):
    graphs = tmp_path / "g"
    graphs.mkdir()
    text = (ROOT / "graphs" / "receptionist.yaml").read_text()
    text = text.replace("chain: [vad, stt, router, llm, tts]", "chain: [vad, stt, llm, tts]")
    text = "\n".join(line for line in text.splitlines() if "intent_router" not in line)
    (graphs / "plain.yaml").write_text(text.replace("name: receptionist", "name: plain"))
    (graphs / "prompts").mkdir()
    (graphs / "prompts" / "receptionist.md").write_text("hi")
    monkeypatch.setenv("GRAPHS_DIR", str(graphs))
    assert main(["route", "--graph", "plain", "hello"]) == 2
    assert "has no intent_router node" in capsys.readouterr().err
