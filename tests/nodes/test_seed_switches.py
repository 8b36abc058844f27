"""The seed's switches: ROUTER_ENABLED (the router passes every turn on) and
SILENCE_TIMEOUT_SECONDS (the idle prompt after three times it; a graph's own wins)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    OutputAudioRawFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
)
from pipecat.tests.utils import run_test

from agent.cli import graph as graph_cli
from agent.config import Config
from agent.errors import ConfigError
from agent.graph import BuildContext, CallInfo, build_graph, load_graph
from agent.graph.build import ProcessCache
from agent.graph.model import CallSettings
from processors.idle_timer import idle_timeout_s
from processors.router import IntentRouter

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"DEEPGRAM_API_KEY": "dg", "GROQ_API_KEY": "gq", "CARTESIA_API_KEY": "ca"}


def router_of(env: dict) -> IntentRouter:
    cfg = Config.load(env={**KEYS, **env}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs" / "receptionist.yaml", cfg, strict=True)
    gb = build_graph(graph, BuildContext(cfg, graph, CallInfo("CA1", "MZ1"), shared=ProcessCache()))
    [router] = [p for p in gb.chain if isinstance(p, IntentRouter)]
    return router


async def test_router_disabled_passes_a_route_example_to_the_llm(monkeypatch):
    import agent.nodes.router as router_node

    def no_encoder(*_args, **_kwargs):
        raise AssertionError("no encoder is loaded with ROUTER_ENABLED=false")

    monkeypatch.setattr(router_node, "load_encoder", no_encoder)
    router = router_of({"ROUTER_ENABLED": "false"})
    question = TranscriptionFrame("How much does it cost?", "caller", "t", finalized=True)
    idle_turn = [BotStartedSpeakingFrame(), BotStoppedSpeakingFrame(), UserStartedSpeakingFrame()]
    down, _up = await run_test(router, frames_to_send=[*idle_turn, question])
    assert [f for f in down if isinstance(f, TranscriptionFrame)] == [question]
    assert not [f for f in down if isinstance(f, OutputAudioRawFrame)] and not router.hits
    # the cached phrases still serve the call controller's greeting and goodbye
    assert router.phrases.audio_for_text("Thanks for calling Acme. How can I help?")


def test_router_enabled_by_default_routes():
    assert router_of({})._matcher is not None


def test_graph_show_says_the_router_is_off(capsys):
    cfg = Config.load(env={"ROUTER_ENABLED": "false"}, dotenv_path=None)
    assert graph_cli.show(str(ROOT / "graphs" / "receptionist.yaml"), "text", cfg) == 0
    assert "router: off (router; ROUTER_ENABLED=false)" in capsys.readouterr().out
    on = Config.load(env={}, dotenv_path=None)
    assert graph_cli.show(str(ROOT / "graphs" / "receptionist.yaml"), "text", on) == 0
    assert "router: off" not in capsys.readouterr().out


def test_silence_timeout_sets_the_idle_prompt_unless_the_graph_does():
    unset = CallSettings()
    assert idle_timeout_s(unset, None) == 6
    assert idle_timeout_s(unset, 4) == 12  # three times it, as in the seed
    own = CallSettings(idle_timeout_s=9)
    assert idle_timeout_s(own, 4) == 9  # the graph's own wins
    cfg = Config.load(env={"SILENCE_TIMEOUT_SECONDS": "2.5"}, dotenv_path=None)
    graph = load_graph(ROOT / "graphs" / "local.yaml", cfg)
    assert idle_timeout_s(graph.call, cfg.silence_timeout_seconds) == 7.5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SILENCE_TIMEOUT_SECONDS": "soon"}, "expected a number of seconds, such as 5 or 2.5"),
        ({"SILENCE_TIMEOUT_SECONDS": "0"}, "expected a number of seconds greater than 0"),
        ({"ROUTER_ENABLED": "maybe"}, "ROUTER_ENABLED='maybe' is invalid (expected true or false)"),
    ],
)
def test_bad_switch_values_are_precise_errors(env, message):
    with pytest.raises(ConfigError, match=None) as info:
        Config.load(env=env, dotenv_path=None)
    assert message in str(info.value)
