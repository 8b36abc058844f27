"""Which graph answers a call (To, then ?graph=, then DEFAULT_GRAPH) and the line's state.

First the decision itself (agent/app/answering.py) on the graphs of tests/graph/lines/, at
pinned instants; then through the real app: the webhook's TwiML parameters, and a server
that refuses to start when two graphs claim one number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from agent.app.answering import UnknownGraph, answer_call, line_from_parameters
from agent.app.server import create_app
from agent.config import Config
from agent.errors import GraphError
from agent.graph import load_graphs
from agent.graph.hours import ALWAYS_OPEN, FixedWallClock, LineState
from agent.graph.lines import number_map
from tests.app.test_server import stream_of, webhook
from tests.conftest import graph_variants, server_env

LINES = Path(__file__).resolve().parents[1] / "graph" / "lines"
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=NY)
MONDAY_23 = datetime(2026, 12, 7, 23, 0, tzinfo=NY)
CHRISTMAS_10 = datetime(2026, 12, 25, 10, 0, tzinfo=NY)
FRONT, NIGHT = "+15551230001", "+15551239999"
NIGHT_GREETING = "We're closed today. Leave your name and number and we'll call you back."


@pytest.fixture(scope="module")
def graphs():
    return load_graphs(LINES, Config.load(env={}, dotenv_path=None))


def answer(graphs, to="+15550000000", requested=None, now=MONDAY_10, default="front"):
    return answer_call(
        graphs, number_map(graphs), to=to, requested=requested, default=default, now=now
    )


def test_to_comes_first_then_the_query_then_the_default(graphs):
    by_number = answer(graphs, to=FRONT, requested="night")
    assert (by_number.graph, by_number.chosen_by) == ("front", "number")
    by_query = answer(graphs, requested="night")
    assert (by_query.graph, by_query.chosen_by) == ("night", "query")
    by_default = answer(graphs, default="night")
    assert (by_default.graph, by_default.chosen_by) == ("night", "default")


def test_an_unknown_query_graph_is_refused_unless_the_number_decides(graphs):
    with pytest.raises(UnknownGraph, match=r"unknown graph 'nigt' \(did you mean 'night'\?\)"):
        answer(graphs, requested="nigt")
    assert answer(graphs, to=FRONT, requested="nigt").graph == "front"


def test_open_the_graph_answers_and_the_stream_says_so(graphs):
    result = answer(graphs, to=FRONT, now=MONDAY_10)
    assert (result.graph, result.line) == ("front", LineState(True, "open"))
    assert result.stream_parameters() == {"line": "open", "line_reason": "open"}


def test_closed_the_after_hours_graph_answers_with_its_own_line(graphs):
    # 23:00 in New York is 04:00 in London, where the night graph is open round the clock.
    result = answer(graphs, to=FRONT, now=MONDAY_23)
    assert result.graph == "night"
    assert result.line == LineState(True, "outside opening hours", answered_for="front")
    assert result.line.after_hours and result.line.open
    assert result.stream_parameters() == {
        "line": "open",
        "line_reason": "outside opening hours",
        "answered_for": "front",
    }


def test_one_hop_only_and_the_after_hours_greeting_comes_with_the_line(graphs):
    # Christmas: the front desk is closed and so is the night graph, which takes messages.
    result = answer(graphs, to=FRONT, now=CHRISTMAS_10)
    assert result.graph == "night"
    assert result.line == LineState(
        False, "closed on 2026-12-25", NIGHT_GREETING, take_message=True, answered_for="front"
    )
    direct = answer(graphs, to=NIGHT, now=CHRISTMAS_10)
    assert direct.line == LineState(False, "closed on 2026-12-25", NIGHT_GREETING, True)


def test_a_graph_without_hours_adds_no_parameters(tmp_path):
    graphs = load_graphs(graph_variants(tmp_path), Config.load(env={}, dotenv_path=None))
    result = answer(graphs, default="receptionist")
    assert result.line == ALWAYS_OPEN and result.stream_parameters() == {}


def test_the_call_reads_its_line_back_from_the_stream_parameters(graphs):
    night, clock = graphs["night"], FixedWallClock(CHRISTMAS_10)
    closed = {"graph": "night", "line": "closed", "line_reason": "closed on 2026-12-25"}
    line = line_from_parameters(closed, night, FixedWallClock(MONDAY_10))
    assert line == LineState(False, "closed on 2026-12-25", NIGHT_GREETING, take_message=True)
    handed = {"line": "open", "line_reason": "outside opening hours", "answered_for": "front"}
    assert line_from_parameters(handed, night, clock).answered_for == "front"
    # A stream whose TwiML carried no line (back from a transfer, say): the graph's hours now,
    # but no after-hours greeting: that only starts a call.
    assert line_from_parameters({"graph": "night"}, night, clock) == LineState(
        False, "closed on 2026-12-25"
    )
    assert line_from_parameters({}, graphs["front"], FixedWallClock(MONDAY_10)).open


# -- through the app -----------------------------------------------------------------------------


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


HOURS = {
    "timezone": "America/New_York",
    "weekly": {"mon-fri": "09:00-17:00"},
    "after_hours": {"greeting": "We're closed.", "take_message": True},
}


async def test_webhook_picks_the_graph_by_to_and_the_line_by_the_pinned_clock(
    start_server, http, tmp_path
):
    graphs_dir = graph_variants(
        tmp_path,
        sales={"numbers": ["+15550002222"], "hours": HOURS},  # the To of the webhook's form
    )
    server = await start_server(GRAPHS_DIR=graphs_dir)
    server.services.wall_clock = FixedWallClock(MONDAY_10)
    status, twiml = await webhook(http, server, query={"graph": "receptionist"})
    assert status == 200, twiml
    assert stream_of(twiml)[1] == {
        "graph": "sales",
        "from": "+15550001111",
        "to": "+15550002222",
        "line": "open",
        "line_reason": "open",
    }
    server.services.wall_clock = FixedWallClock(MONDAY_23.astimezone(UTC))
    status, twiml = await webhook(http, server, query={})
    assert stream_of(twiml)[1]["line"] == "closed"
    assert stream_of(twiml)[1]["line_reason"] == "outside opening hours"
    # Another number: ?graph= decides, then the default; neither has hours.
    other = {"CallSid": "CA" + "2" * 32, "From": "+15550001111", "To": "+15550009999"}
    status, twiml = await webhook(http, server, query={"graph": "sales"}, form=other)
    assert stream_of(twiml)[1]["graph"] == "sales"
    status, twiml = await webhook(http, server, query={}, form=other)
    assert stream_of(twiml)[1] == {"graph": "receptionist", "from": "+15550001111", "to": "+15550009999"}  # fmt: skip


async def test_the_server_refuses_to_start_when_two_graphs_claim_a_number(fakes, tmp_path):
    graphs_dir = graph_variants(
        tmp_path, sales={"numbers": ["+15550002222"]}, support={"numbers": ["+15550002222"]}
    )
    config = Config.load(env=server_env(fakes.env(), GRAPHS_DIR=graphs_dir), dotenv_path=None)
    with pytest.raises(GraphError) as info:
        create_app(config)
    text = str(info.value)
    assert "sales.yaml: error numbers[0]: +15550002222 is also claimed by " in text
    assert "support.yaml (numbers[0]); a number is answered by one graph" in text
