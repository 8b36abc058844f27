"""With the destination's number unset, the ways in are off: the router leaves out the transfer
route, the LLM is not offered transfer_call; with it set, both are there."""

from __future__ import annotations

from pathlib import Path

from agent.config import Config
from agent.graph import load_graph
from agent.nodes.groq import TRANSFER_CALL, tools, transfer_destinations
from agent.nodes.router import active_routes
from agent.phrases.routes import load_routes

ROOT = Path(__file__).resolve().parents[2]
ROUTES = load_routes(ROOT / "audio_cache" / "routes.yaml").routes


def receptionist(**env: str):
    config = Config.load(env=env, dotenv_path=None)
    return load_graph(ROOT / "graphs" / "receptionist.yaml", config)


def offered(destinations) -> list[str]:
    schema = tools(True, destinations)
    return [tool.name for tool in schema.standard_tools]


def test_off_without_the_number():
    graph = receptionist()
    assert "human" not in active_routes(ROUTES, graph)
    assert set(active_routes(ROUTES, graph)) == {"pricing", "who_are_you", "stop", "message"}
    assert transfer_destinations(graph, None) == []
    assert offered(transfer_destinations(graph, None)) == ["end_call"]
    assert tools(False, []) is None


def test_on_with_the_number():
    graph = receptionist(TRANSFER_NUMBER="+15550003333")
    assert "human" in active_routes(ROUTES, graph)
    assert transfer_destinations(graph, None) == ["front_desk"]
    assert transfer_destinations(graph, []) == []  # transfer_to: [] turns the tool off
    assert offered(["front_desk"]) == [TRANSFER_CALL, "end_call"]
    [tool] = [t for t in tools(True, ["front_desk"]).standard_tools if t.name == TRANSFER_CALL]
    assert tool.properties["destination"]["enum"] == ["front_desk"]
    assert tool.required == ["destination"]
