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

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import Config
from agent.graph.model import ParallelBlock
from agent.graph.resolved import Graph

if TYPE_CHECKING:
    from processors.media_link import ReadAhead


@dataclass
class CallInfo:
    """Who is calling: from Twilio's `start` message and the TwiML parameters."""

    call_sid: str
    stream_sid: str
    account_sid: str | None = None
    from_number: str | None = None
    to_number: str | None = None


@dataclass
class BuildContext:
    """What a builder may use. `shared` is process-wide (e.g. a loaded model), keyed by builder."""

    config: Config
    graph: Graph
    call: CallInfo
    shared: dict = field(default_factory=dict)

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
                from agent.adapters.engine import (
                    ParallelPipeline,  # pipecat's pipeline API lives there
                )

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
