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
    assert out[1].split() == [
        "route",
        "score",
        "threshold",
        "near-miss",
        "p(route)",
        "best",
        "example",
    ]
    rows = [line.split() for line in out[2:7]]
    assert rows[0][0] == "pricing"
    assert {r[0] for r in rows} == {"pricing", "who_are_you", "stop", "human", "message"}
    # the receptionist's classifier picks the route: rows best first by its probability
    probabilities = [float(r[4]) for r in rows]
    assert probabilities == sorted(probabilities, reverse=True)
    assert float(rows[0][1]) == max(float(r[1]) for r in rows)
    thresholds = {r[0]: r[2] for r in rows}
    assert thresholds["pricing"] == "0.60" == thresholds["stop"]  # the node's and stop's own
    assert out[7].startswith("-> pricing (1.000 >= 0.60, then offer_message): 'Our plans start")


def test_the_stop_route_says_its_action_and_a_miss_goes_to_the_llm(capsys):
    assert main(["route", "please stop calling me"]) == 0
    assert ", then do_not_call)" in capsys.readouterr().out
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


# --- route suggest: paraphrases from the LLM (the OpenAI client against the Groq fake) ---


def _serve_in_thread(fake):
    """The Groq fake on a loopback port, served by its own event loop in a thread."""
    import asyncio
    import threading

    from aiohttp import web

    from agent.sim.fakes.server import create_app

    ready = threading.Event()
    box = {}

    def run():
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(create_app(fake))
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        box["port"] = site._server.sockets[0].getsockname()[1]
        box["loop"], box["runner"] = loop, runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    return box, thread


def test_suggest_without_a_key_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert main(["route", "suggest", "pricing"]) == 2
    err = capsys.readouterr().err
    assert "set GROQ_API_KEY" in err and "Nothing was asked" in err


def test_suggest_prints_new_paraphrases_for_review(monkeypatch, capsys):
    from agent.sim.fakes.groq import GroqFake

    reply = (
        "1. What's this gonna cost me each month?\n"
        "- how much does it cost\n"  # already an example: dropped
        "\n"
        '"Ballpark, what are we talking price-wise?"\n'
    )
    fake = GroqFake(expected_key="gq-test-key", replies=[("new, different ways", reply)])
    box, thread = _serve_in_thread(fake)
    try:
        monkeypatch.setenv("GROQ_API_KEY", "gq-test-key")
        monkeypatch.setenv("GROQ_BASE_URL", f"http://127.0.0.1:{box['port']}/openai/v1")
        assert main(["route", "suggest", "pricing", "3"]) == 0
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(10)
    out = capsys.readouterr().out.splitlines()
    items = [line for line in out if line.startswith("      - ")]
    assert [i.split("  # ")[0].strip() for i in items] == [
        "- What's this gonna cost me each month?",
        "- Ballpark, what are we talking price-wise?",
    ]
    assert all("# today: " in i or "# routes here today" in i for i in items)
    (request,) = fake.requests
    asked = request["messages"][0]["content"]
    assert "Write 3 new" in asked and "how much does it cost" in asked  # examples given
    assert "how much is shipping" in asked  # and the near misses


def test_suggest_an_unknown_route_names_the_routes(monkeypatch, capsys):
    monkeypatch.setenv("GROQ_API_KEY", "gq-test-key")
    assert main(["route", "suggest", "weather"]) == 2
    assert "no route 'weather'; routes: pricing, who_are_you" in capsys.readouterr().err
