"""What a scenario run serves: the graph as the run serves it and the settings it runs with.

- `fixed_env`: the run's settings under the fakes' and the scenario's (dummy keys, a fresh
  SQLite file in the run's directory, the graphs directory): never the shell's, so a run is
  the same on every machine.
- `for_run`: the graph with the scenario's hours, and a `call_recorder` tap when it has
  none (a tap sees copies of frames and never delays the call; the run reads what happened
  from the call's record).
- `aware`: a scenario's `at:` on the graph's time zone when it names none.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.graph.hours_read import read_schedule
from agent.graph.registry import BUILTIN
from agent.graph.resolved import Graph, Node
from agent.nodes.params import CallRecorderParams
from agent.scenarios.model import Scenario

PUBLIC_HOST = "switchboard.graph-test.invalid"
ACCOUNT_SID = "AC" + "0" * 32
RECORDER_TAP = "graph_test_recorder"


def fixed_env(graphs_dir: str, graph_name: str, tmp: str, admin: str = "", auth: str = "") -> dict:
    """The run's settings under the fakes' and the scenario's: never the shell's."""
    return {
        "PUBLIC_HOST": PUBLIC_HOST,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": auth or "graph-test",
        "DEEPGRAM_API_KEY": "dg-graph-test",
        "GROQ_API_KEY": "gsk-graph-test",
        "CARTESIA_API_KEY": "sk-cartesia-graph-test",
        "GRAPHS_DIR": graphs_dir,
        "DEFAULT_GRAPH": graph_name,
        "DATABASE_URL": f"sqlite:///{tmp}/calls.db",
        "RECORDINGS_DIR": f"{tmp}/recordings",
        "ADMIN_TOKEN": admin,
        "LOG_LEVEL": "WARNING",
    }


def aware(at: datetime, graph: Graph) -> datetime:
    """`at` as is when it names a zone, else on the graph's (its hours', else UTC)."""
    if at.tzinfo is not None:
        return at
    zone = graph.hours.timezone if graph.hours is not None else "UTC"
    return at.replace(tzinfo=ZoneInfo(str(zone)))


def for_run(graph: Graph, scenario: Scenario) -> Graph:
    """The graph as this run serves it: with the scenario's hours, and a call_recorder tap
    when it has none (the run reads what happened from the call's record)."""
    changes: dict = {}
    if scenario.hours is not None:
        schedule, problems = read_schedule(
            scenario.hours, graph=graph.name, graph_names=[graph.name]
        )
        if schedule is None:
            raise ValueError(f"the scenario's hours: {problems}")
        changes["hours"] = schedule
    if not any(node.type.name == "call_recorder" for node in graph.tap_nodes()):
        recorder = Node(RECORDER_TAP, BUILTIN.get("call_recorder"), CallRecorderParams())
        changes["taps"] = (*graph.taps, RECORDER_TAP)
        changes["nodes"] = {**graph.nodes, RECORDER_TAP: recorder}
    return dataclasses.replace(graph, **changes) if changes else graph
