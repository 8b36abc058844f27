"""A loaded graph: validated, `${env:...}` resolved, `replace_with` applied.

This is what the server keeps per graph and what `build_graph` and the drawings read. Its
chain holds the names of the nodes that will actually run (so with USE_DEEPGRAM_FLUX=true
the default graph's chain says `stt_flux` where the file says `stt`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from agent.errors import GraphProblem
from agent.graph.hours import Schedule
from agent.graph.model import (
    CallSettings,
    MessagesSettings,
    ParallelBlock,
    TransferDestination,
    VarSpec,
)
from agent.graph.registry import TRANSPORT_IN_KINDS, NodeType

ChainItems = Sequence["str | ParallelBlock"]


@dataclass(frozen=True)
class Node:
    """One node in use: its name, type and validated Params."""

    name: str
    type: NodeType
    params: BaseModel
    replaces: str | None = None  # the node it stands in for, via replace_with


@dataclass(frozen=True, eq=False)
class Graph:
    """A valid graph, ready to build and draw."""

    name: str
    path: Path
    description: str
    call: CallSettings
    chain: tuple[str | ParallelBlock, ...]
    taps: tuple[str, ...]
    nodes: Mapping[str, Node]  # every node in use (chain and taps), by name
    warnings: tuple[GraphProblem, ...] = field(default=())
    numbers: tuple[str, ...] = ()  # E.164 numbers this graph answers (agent/graph/lines.py)
    number_locs: Mapping[str, int] = field(default_factory=dict)  # number -> numbers[i]
    hours: Schedule | None = None  # business hours (agent/graph/hours.py); None: always open
    # People a call may be put through to (`transfer:`), `${env:...}` resolved.
    transfer: Mapping[str, TransferDestination] = field(default_factory=dict)
    messages: MessagesSettings | None = None  # taking messages (None: not enabled)
    vocabulary: tuple[str, ...] = ()  # the business's words, for the STT (keyterms, hotwords)
    vars: Mapping[str, VarSpec] = field(default_factory=dict)  # call variables (outbound)

    def chain_nodes(self) -> list[Node]:
        """The chain's nodes in order, branches of parallel blocks depth-first."""
        return [self.nodes[name] for name in iter_names(self.chain)]

    def tap_nodes(self) -> list[Node]:
        return [self.nodes[name] for name in self.taps]

    def required_settings(self) -> list[str]:
        """Settings (e.g. DEEPGRAM_API_KEY) the nodes in use need, in order, no repeats."""
        seen: dict[str, None] = {}
        for node in [*self.chain_nodes(), *self.tap_nodes()]:
            for setting in node.type.required_settings:
                seen.setdefault(setting, None)
        return list(seen)

    def kinds_before(self, node_name: str) -> frozenset[str]:
        """Frame kinds that reach `node_name` (transport in plus every node upstream)."""
        kinds = {n: node.type for n, node in self.nodes.items()}
        for name, available in walk_flow(self.chain, kinds):
            if name == node_name:
                return available
        raise KeyError(node_name)

    def resolve_path(self, relative: str) -> Path:
        """A path written in the graph file, relative to the file's folder."""
        return self.path.parent / relative

    def transfer_destination(self, name: str | None) -> tuple[str, TransferDestination] | None:
        """(name, destination) for `name` (None: the first one) when it is active, else None."""
        if name is None:
            name = next(iter(self.transfer), None)
        destination = self.transfer.get(name) if name else None
        return (name, destination) if destination is not None and destination.active else None

    def active_destinations(self) -> list[str]:
        """The destinations whose number is set, in file order."""
        return [name for name, d in self.transfer.items() if d.active]


def iter_names(items: ChainItems) -> Iterator[str]:
    for item in items:
        if isinstance(item, str):
            yield item
        else:
            for branch in item.parallel:
                yield from iter_names(branch)


def walk_flow(
    items: ChainItems,
    types: Mapping[str, NodeType | None],
    available: frozenset[str] = TRANSPORT_IN_KINDS,
) -> Iterator[tuple[str, frozenset[str]]]:
    """Yield (node name, kinds reaching it), in chain order.

    Kinds accumulate: pipecat processors pass on the frames they do not consume. Every
    branch of a parallel block sees what reached the block; after it, the union of what
    the branches produced. A name missing from `types` (or mapped to None) produces nothing.
    """
    _, pairs = _flow(items, types, available)
    yield from pairs


def produced_kinds(items: ChainItems, types: Mapping[str, NodeType | None]) -> frozenset[str]:
    """Every kind that flows out of the chain's end (transport in's kinds included)."""
    out, _ = _flow(items, types, TRANSPORT_IN_KINDS)
    return out


def _flow(
    items: ChainItems, types: Mapping[str, NodeType | None], available: frozenset[str]
) -> tuple[frozenset[str], list[tuple[str, frozenset[str]]]]:
    pairs: list[tuple[str, frozenset[str]]] = []
    for item in items:
        if isinstance(item, str):
            pairs.append((item, available))
            node_type = types.get(item)
            if node_type is not None:
                available = available | node_type.produces
        else:
            after = available
            for branch in item.parallel:
                branch_out, branch_pairs = _flow(branch, types, available)
                pairs.extend(branch_pairs)
                after = after | branch_out
            available = after
    return available, pairs
