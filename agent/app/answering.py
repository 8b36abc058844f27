"""Which graph answers a call, and whether its line is open: decided once, at the voice webhook.

The graph, in this order:

1. the call's `To`: the graph whose `numbers:` list it (one number, one graph);
2. the voice URL's `?graph=` (an unknown name is a 400, as before; with `To` matched it is
   only logged, since the call has a graph);
3. DEFAULT_GRAPH.

`To` comes first because the number is what the caller dialled and the graph file is where
its owner said what that number does: one voice URL (with or without `?graph=`) can then
serve every number on the account, and a `?graph=` left on a number's URL cannot shadow the
graph that claims it.

Then the graph's hours (agent/graph/hours.py) at the wall clock's `now()`. Closed with
`after_hours: {graph: other}`: `other` answers (one hop: its own hours decide whether its
line is open, but its own `after_hours` is not followed). Closed with an after-hours greeting:
the same graph answers, starting with that greeting.

The decision reaches the call as Media Stream parameters beside `graph`, `from` and `to`,
only for a graph with hours (so a call without them looks as it always did): `line`
(`open`/`closed`), `line_reason`, and `answered_for` (the closed graph, when another
answers). `line_from_parameters` turns them back into the call's `LineState`; a stream
without them (one connected by other TwiML, e.g. back from a transfer) gets its graph's open
or closed state at that moment, without the after-hours greeting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from loguru import logger

from agent.graph import Graph
from agent.graph.hours import ALWAYS_OPEN, LineState, WallClock
from agent.graph.loader import find_graph_hint


class UnknownGraph(Exception):
    """`?graph=` names no graph served here."""

    def __init__(self, name: str, served: list[str]):
        self.name = name
        super().__init__(
            f"unknown graph {name!r}{find_graph_hint(name, served)}; "
            f"available: {', '.join(sorted(served))}"
        )


@dataclass(frozen=True)
class Answer:
    """Who answers a call: the graph, why it was chosen, and the line's state."""

    graph: str
    chosen_by: str  # "number", "query" or "default"
    line: LineState
    has_hours: bool  # the chosen graph declares hours: the line travels as stream parameters

    def stream_parameters(self) -> dict[str, str]:
        """`line`, `line_reason` (and `answered_for`) for the TwiML <Stream>, or {}."""
        if not self.has_hours:
            return {}
        params = {"line": "open" if self.line.open else "closed", "line_reason": self.line.reason}
        if self.line.answered_for:
            params["answered_for"] = self.line.answered_for
        return params


def choose_graph(
    graphs: Mapping[str, Graph],
    numbers: Mapping[str, str],
    to: str,
    requested: str | None,
    default: str,
) -> tuple[str, str]:
    """(graph name, "number" | "query" | "default"); raises UnknownGraph for a bad ?graph=."""
    claimed = numbers.get(to.strip()) if to else None
    if claimed is not None:
        if requested and requested != claimed:
            logger.info(f"call to {to} answered by graph {claimed!r}, which lists the number "
                        f"(not ?graph={requested})")  # fmt: skip
        return claimed, "number"
    if requested:
        if requested not in graphs:
            raise UnknownGraph(requested, list(graphs))
        return requested, "query"
    return default, "default"


def line_state(graph: Graph, at: datetime) -> LineState:
    """The graph's line at `at`: its hours' state, or always open without hours."""
    return graph.hours.state(at) if graph.hours is not None else ALWAYS_OPEN


def answer_call(
    graphs: Mapping[str, Graph],
    numbers: Mapping[str, str],
    *,
    to: str,
    requested: str | None,
    default: str,
    now: datetime,
) -> Answer:
    """The whole decision for a call ringing at `now` (see the module docstring)."""
    name, chosen_by = choose_graph(graphs, numbers, to, requested, default)
    graph = graphs[name]
    line = line_state(graph, now)
    after = graph.hours.after_hours if graph.hours is not None else None
    if not line.open and after is not None and after.graph is not None:
        other = graphs[after.graph]  # served: checked at start (agent/graph/lines.py)
        logger.info(f"graph {name!r} is closed ({line.reason}): graph {other.name!r} answers")
        own = line_state(other, now)
        line = replace(own, answered_for=name, reason=line.reason if own.open else own.reason)
        return Answer(other.name, chosen_by, line, has_hours=True)
    return Answer(name, chosen_by, line, has_hours=graph.hours is not None)


def line_from_parameters(params: Mapping[str, str], graph: Graph, clock: WallClock) -> LineState:
    """The call's LineState from its stream parameters (what the webhook decided).

    A stream without them was connected by other TwiML (a call coming back from a transfer
    that was not answered): it continues a call, so it gets its graph's open or closed state
    now, but not the after-hours greeting or message mode, which only start a call.
    """
    if "line" not in params:
        return replace(line_state(graph, clock.now()), greeting=None, take_message=False)
    is_open = params["line"] != "closed"
    line = LineState(
        open=is_open,
        reason=params.get("line_reason", ""),
        answered_for=params.get("answered_for") or None,
    )
    after = graph.hours.after_hours if graph.hours is not None else None
    if not is_open and after is not None and after.greeting:
        line = replace(line, greeting=after.greeting, take_message=after.take_message)
    return line
