"""Business hours and numbers in whole calls through the Twilio emulator (real time: two calls).

The server's wall clock is pinned (`Services.wall_clock`), so the calls are after hours
whatever the time the tests run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.graph.hours import FixedWallClock
from agent.phrases.routes import load_routes
from agent.sim.script import HangUp, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import graph_variants

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "audio_cache"
MONDAY_23 = FixedWallClock(datetime(2026, 12, 7, 23, 0, tzinfo=ZoneInfo("America/New_York")))
AFTER_HOURS = load_routes(CACHE / "routes.yaml").all_phrases()["after_hours"]
WEEKDAYS = {"timezone": "America/New_York", "weekly": {"mon-fri": "09:00-17:00"}}
GREETING_ONLY = [
    WaitForAgentAudio(timeout=10),
    WaitForAgentSilence(pause=0.3, timeout=15),
    HangUp(),
]


@pytest.fixture
def contexts(monkeypatch) -> list:
    """The BuildContext of every call the server builds (its CallInfo says the line's state)."""
    import agent.app.pipeline as pipeline

    made: list = []
    original = pipeline.build_graph

    def build(graph, ctx):
        made.append(ctx)
        return original(graph, ctx)

    monkeypatch.setattr(pipeline, "build_graph", build)
    return made


async def test_at_23_the_caller_hears_the_cached_after_hours_greeting(
    fakes, start_server, tmp_path, contexts
):
    hours = {**WEEKDAYS, "after_hours": {"greeting": AFTER_HOURS, "take_message": True}}
    server = await start_server(GRAPHS_DIR=graph_variants(tmp_path, receptionist={"hours": hours}))
    server.services.wall_clock = MONDAY_23
    result = await server.emulator().place_call(GREETING_ONLY, max_duration=30)
    assert not result.timeouts, result.timeouts
    assert result.parameters["line"] == "closed"
    assert (CACHE / "after_hours.ulaw").read_bytes() in result.heard  # all of it, from the cache
    assert (CACHE / "greeting.ulaw").read_bytes() not in result.heard
    assert not fakes.cartesia.transcripts_by_context()  # no TTS for it
    [ctx] = contexts
    line = ctx.call.line
    assert (line.open, line.after_hours, line.take_message) == (False, True, True)
    assert line.greeting == AFTER_HOURS and line.reason == "outside opening hours"
    assert not ctx.line_open_now()  # the same pinned clock, later in the call


async def test_a_number_picks_its_graph_and_after_hours_another_graph_answers(
    fakes, start_server, tmp_path, contexts
):
    night_greeting = "Sales is closed for the night. How can I help?"
    graphs_dir = graph_variants(
        tmp_path,
        sales={"numbers": ["+15550003333"], "hours": {**WEEKDAYS, "after_hours": {"graph": "night"}}},
        night={"call": {"greeting": night_greeting}},
    )  # fmt: skip
    server = await start_server(GRAPHS_DIR=graphs_dir)
    server.services.wall_clock = MONDAY_23
    result = await server.emulator().place_call(
        GREETING_ONLY, to="+15550003333", query={"graph": "receptionist"}, max_duration=30
    )
    assert not result.timeouts, result.timeouts
    assert result.parameters["graph"] == "night"
    assert result.parameters["answered_for"] == "sales"
    spoken = " ".join(fakes.cartesia.transcripts_by_context().values())
    assert night_greeting in spoken
    [ctx] = contexts
    assert ctx.graph.name == "night"
    assert ctx.call.to_number == "+15550003333"
    assert ctx.call.line.after_hours and ctx.call.line.open  # night has no hours of its own
