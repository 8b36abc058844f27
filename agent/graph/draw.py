"""Pictures of a graph: gst-launch-like text and a Mermaid flowchart.

Both draw the graph as it will run (replace_with applied). Text:

    in ! vad ! stt ! llm ! tts ! out
    in ! vad ! ( stt ! llm | recorder_mix ) ! tts ! out      (a parallel block)
    taps: recorder

Mermaid: transport in and out as stadiums, each node labelled with its type, parallel
branches fanning out and back in, taps hanging off dotted edges from the nodes (or transport
in) that produce the kinds of frames they read.
"""

from __future__ import annotations

from agent.graph.model import ParallelBlock
from agent.graph.registry import TRANSPORT_IN_KINDS
from agent.graph.resolved import Graph

# Words Mermaid reads as syntax; a node with such a name gets a prefixed id.
_MERMAID_RESERVED = {
    "end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click",
    "linkstyle", "default", "direction", "call", "href",
}  # fmt: skip


def draw_text(graph: Graph) -> str:
    lines = [" ! ".join(["in", *_text_items(graph.chain), "out"])]
    if graph.taps:
        lines.append(f"taps: {', '.join(graph.taps)}")
    return "\n".join(lines) + "\n"


def _text_items(items) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        else:
            branches = [" ! ".join(_text_items(b)) for b in item.parallel]
            out.append(f"( {' | '.join(branches)} )")
    return out


def draw_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR", "    in([transport in])"]
    edges: list[str] = []

    def node_line(name: str, shape: tuple[str, str] = ("[", "]")) -> str:
        node = graph.nodes[name]
        label = f"{name}<br/>{node.type.name}"
        if node.replaces:
            label += f"<br/>(replaces {node.replaces})"
        return f'    {_id(name)}{shape[0]}"{label}"{shape[1]}'

    def walk(items, tails: list[str]) -> list[str]:
        for item in items:
            if isinstance(item, str):
                lines.append(node_line(item))
                edges.extend(f"    {tail} --> {_id(item)}" for tail in tails)
                tails = [_id(item)]
            else:
                tails = _walk_parallel(item, tails)
        return tails

    def _walk_parallel(block: ParallelBlock, tails: list[str]) -> list[str]:
        out: list[str] = []
        for branch in block.parallel:
            out += walk(branch, tails)
        return out

    tails = walk(graph.chain, ["in"])
    lines.append("    out([transport out])")
    edges.extend(f"    {tail} --> out" for tail in tails)

    producers = _producers(graph)
    for tap in graph.taps:
        lines.append(node_line(tap, ("[/", "/]")))
        sources = [
            p for kind in sorted(graph.nodes[tap].type.consumes) for p in producers.get(kind, [])
        ]
        for source in dict.fromkeys(sources or ["in"]):
            edges.append(f"    {source} -.-> {_id(tap)}")
    return "\n".join([*lines, *edges]) + "\n"


def _producers(graph: Graph) -> dict[str, list[str]]:
    """Mermaid ids producing each kind: transport in, then chain nodes in order."""
    out: dict[str, list[str]] = {kind: ["in"] for kind in TRANSPORT_IN_KINDS}
    for node in graph.chain_nodes():
        for kind in node.type.produces:
            out.setdefault(kind, []).append(_id(node.name))
    return out


def _id(name: str) -> str:
    return f"node_{name}" if name.lower() in _MERMAID_RESERVED else name


def draw(graph: Graph, fmt: str) -> str:
    if fmt == "text":
        return draw_text(graph)
    if fmt == "mermaid":
        return draw_mermaid(graph)
    raise ValueError(f"unknown format {fmt!r}: use text or mermaid")
