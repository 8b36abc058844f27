"""Turning a loaded Graph into pipecat processors for one call.

The server assembles

    Pipeline([transport.input(), *build.chain, transport.output(), *build.after_output])

with `build.observers` attached to the worker. Each node's builder (named in the registry,
imported here on first use) returns a NodeBuild: processors for its place in the chain,
processors that must follow transport output (the assistant context aggregator, which has
to see what was actually spoken), observers (taps) and an optional context for inspection.
A parallel block becomes a pipecat ParallelPipeline of its branches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agent.config import Config
from agent.graph.hours import ALWAYS_OPEN, SYSTEM_WALL_CLOCK, LineState, WallClock
from agent.graph.model import ParallelBlock
from agent.graph.resolved import Graph

if TYPE_CHECKING:
    from processors.media_link import ReadAhead

T = TypeVar("T")


class ProcessCache:
    """What node builders build once per process and every call shares (a loaded model, an
    inference session, a parsed routes file), keyed by what it was built from, for example
    `("whisper", model, compute_type, threads)`. The server keeps one; a test makes its own."""

    def __init__(self) -> None:
        self._items: dict[Hashable, object] = {}

    def get_or_create(self, key: Hashable, factory: Callable[[], T]) -> T:
        """The object under `key`, made by `factory()` the first time it is asked for."""
        if key not in self._items:
            self._items[key] = factory()
        return cast(T, self._items[key])

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class CallInfo:
    """Who is calling: from Twilio's `start` message and the TwiML parameters."""

    call_sid: str
    stream_sid: str
    account_sid: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    # Open or closed when the call came in, decided at the voice webhook from the graph's
    # hours (agent/graph/hours.py): `line.open` (transfers only then), `line.after_hours`,
    # `line.take_message` (the after-hours greeting's message-taking mode).
    line: LineState = ALWAYS_OPEN
    # Outbound calls (agent/outbound): "outbound" and the call's variables (`${call.vars.X}`).
    direction: str = "inbound"
    vars: Mapping[str, str] = field(default_factory=dict)


@dataclass
class BuildContext:
    """What a builder may use. `shared` is the process's cache (models, sessions), kept across calls."""

    config: Config
    graph: Graph
    call: CallInfo
    shared: ProcessCache = field(default_factory=ProcessCache)
    wall_clock: WallClock = SYSTEM_WALL_CLOCK  # the server's (Services.wall_clock); tests pin it

    def line_open_now(self) -> bool:
        """Whether the graph's line is open at this moment (its hours at the wall clock;
        always without hours). For a decision later in the call, such as a transfer;
        `call.line.open` is the state when the call came in."""
        hours = self.graph.hours
        return hours is None or hours.is_open(self.wall_clock.now())

    def resolve_path(self, relative: str) -> Path:
        """A path from the graph file (e.g. a prompt), relative to the file's folder."""
        return self.graph.resolve_path(relative)


@dataclass
class NodeBuild:
    """What one node turned into."""

    processors: list  # FrameProcessors placed where the node sits in the chain
    after_output: list = field(default_factory=list)  # placed after transport.output()
    observers: list = field(default_factory=list)  # pipecat BaseObservers (taps)
    context: Any = None  # e.g. the LLMContext, so the server can inspect it
    # Call hooks (taps that need no per-frame observer): objects with `attach(live)`, run once
    # the call's worker exists, and `async finish(live, outcome)` after it ended
    # (agent/app/pipeline.py LiveCall; e.g. agent/records/recorder.py).
    hooks: list = field(default_factory=list)
    # A node with the "read_ahead.take" channel (a streaming TTS): binds it to the call's
    # read-ahead, called once by the pipeline assembly (agent/app/pipeline.py).
    take_read_ahead: Callable[[ReadAhead], None] | None = None


@dataclass
class GraphBuild:
    """A whole graph's processors for one call."""

    chain: list
    after_output: list
    observers: list
    nodes: dict[str, NodeBuild]
    hooks: list = field(default_factory=list)


def build_graph(graph: Graph, ctx: BuildContext) -> GraphBuild:
    """Build every node in use, in chain order, then the taps.

    An exception from a builder propagates with a note naming the node and graph.
    """
    nodes: dict[str, NodeBuild] = {}

    def build_node(name: str) -> NodeBuild:
        node = graph.nodes[name]
        try:
            built = node.type.load_builder()(node.params, ctx, name)
        except Exception as exc:
            exc.add_note(f"while building node '{name}' ({node.type.name}) of graph '{graph.name}'")
            raise
        nodes[name] = built
        return built

    def build_items(items) -> list:
        processors: list = []
        for item in items:
            if isinstance(item, ParallelBlock):
                # Lazily: importing agent.graph (`graph check`) must not import pipecat.
                from agent.adapters.engine import ParallelPipeline

                processors.append(ParallelPipeline(*[build_items(b) for b in item.parallel]))
            else:
                processors.extend(build_node(item).processors)
        return processors

    chain = build_items(graph.chain)
    for tap in graph.taps:
        build_node(tap)
    return GraphBuild(
        chain=chain,
        after_output=[p for built in nodes.values() for p in built.after_output],
        observers=[o for built in nodes.values() for o in built.observers],
        nodes=nodes,
        hooks=[h for built in nodes.values() for h in built.hooks],
    )
