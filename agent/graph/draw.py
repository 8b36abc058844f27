"""Pictures of a graph: gst-launch-like text and a Mermaid flowchart.

Both draw the graph as it will run: replace_with applied, and the `audio_pacer` every call
ends in (agent/app/pipeline.py adds one named `pacer` when the graph has none). Text:

    in ! vad ! stt ! llm ! tts ! pacer ! out
    in ! vad ! ( stt ! llm | recorder_mix ) ! tts ! pacer ! out      (a parallel block)
    taps: recorder
    channels: pacer ~media~> out, tts <~read-ahead~ pacer
    transfer: front_desk (rings 20 s), sales (off: no number)

Channels are the links besides frames that node types declare (registry CHANNELS) and the
pipeline assembly binds: the pacer writes to transport out's media link, and offers a
streaming TTS its read-ahead.

The graph's transfer destinations (`transfer:`) close both pictures (a `%%` comment in
Mermaid), each with its ring timeout, or "off" when its number is not set.

A graph with numbers or hours gets them after that: `numbers: +15551234567` and the
week as a table (`hours: Europe/London`, then `  mon  09:00-17:00` ... `  sun  closed`,
closed dates, what happens after hours); in Mermaid, a note beside transport in.

Mermaid: transport in and out as stadiums, each node labelled with its type, parallel
branches fanning out and back in, taps hanging off dotted edges from the nodes (or transport
in) that produce the kinds of frames they read, channels as labelled edges (`==>` for the
media link, `-.->` for the read-ahead, from the pacer to the TTS that reads at its pace).
"""

from __future__ import annotations

from agent.graph.model import ParallelBlock
from agent.graph.registry import BUILTIN, IMPLICIT_PACER, PACER_TYPE, TRANSPORT_IN_KINDS, NodeType
from agent.graph.resolved import Graph, iter_names

# Words Mermaid reads as syntax; a node with such a name gets a prefixed id.
_MERMAID_RESERVED = {
    "end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click",
    "linkstyle", "default", "direction", "call", "href",
}  # fmt: skip


def _running_chain(graph: Graph) -> tuple:
    """The chain as it runs: with the pacer the pipeline adds when the graph has none."""
    if any(node.type.name == PACER_TYPE for node in graph.chain_nodes()):
        return graph.chain
    return (*graph.chain, IMPLICIT_PACER)


def _type_of(graph: Graph, name: str) -> NodeType:
    node = graph.nodes.get(name)
    if node is not None:
        return node.type
    return BUILTIN.get(PACER_TYPE)  # the added pacer


def _channels(graph: Graph, chain: tuple) -> list[tuple[str, str, str]]:
    """(node, channel, peer) of every bound channel: "media" to out, "read-ahead" from a
    giver (the pacer) to a TTS that reads at its pace."""
    names = list(iter_names(chain))
    types = {name: _type_of(graph, name) for name in names}
    givers = [n for n in names if "read_ahead.give" in types[n].channels]
    found = [(n, "media", "out") for n in names if "media" in types[n].channels]
    for name in names:
        if "read_ahead.take" in types[name].channels:
            found += [(giver, "read-ahead", name) for giver in givers]
    return found


def draw_text(graph: Graph) -> str:
    chain = _running_chain(graph)
    lines = [" ! ".join(["in", *_text_items(chain), "out"])]
    if graph.taps:
        lines.append(f"taps: {', '.join(graph.taps)}")
    channels = [
        f"{node} ~media~> {peer}" if channel == "media" else f"{peer} <~{channel}~ {node}"
        for node, channel, peer in _channels(graph, chain)
    ]
    if channels:
        lines.append(f"channels: {', '.join(channels)}")
    if graph.transfer:
        lines.append(f"transfer: {_destinations(graph)}")
    lines += _line_text(graph)
    return "\n".join(lines) + "\n"


def _destinations(graph: Graph) -> str:
    """The transfer destinations, by name (numbers are left out: they are configuration)."""
    return ", ".join(
        f"{name} (rings {d.ring_timeout_s} s{_warm(d)})" if d.active else f"{name} (off: no number)"
        for name, d in graph.transfer.items()
    )


def _warm(destination) -> str:
    """A warm destination's extra: the seconds the person has to accept."""
    return f", warm: accept within {destination.accept_timeout_s} s" if destination.warm else ""


def _line_text(graph: Graph) -> list[str]:
    """Numbers and the weekly hours table (nothing for a graph with neither)."""
    lines = [f"numbers: {', '.join(graph.numbers)}"] if graph.numbers else []
    hours = graph.hours
    if hours is None:
        return lines
    lines.append(f"hours: {hours.timezone}")
    lines += [f"  {row}" for row in hours.table()]
    if hours.closed:
        lines.append(f"  closed: {', '.join(d.isoformat() for d in sorted(hours.closed))}")
    lines.append(f"  after hours: {_after_hours(graph, quote=True)}")
    return lines


def _after_hours(graph: Graph, quote: bool) -> str:
    after = graph.hours.after_hours if graph.hours else None
    if after is None:
        return "this graph answers (line closed: no transfers)"
    if after.graph is not None:
        return f"graph {after.graph} answers"
    said = f'greeting "{after.greeting}"' if quote else "after-hours greeting"
    return said + (", then take a message" if after.take_message else "")


def _line_note(graph: Graph) -> list[str]:
    """Mermaid: numbers and hours as a note joined to transport in (id `Line`: node names are
    lower case, so it cannot clash)."""
    rows = [f"answers {', '.join(graph.numbers)}"] if graph.numbers else []
    hours = graph.hours
    if hours is not None:
        rows.append(f"hours ({hours.timezone})")
        rows += hours.table()
        if hours.closed:
            rows.append(f"closed {', '.join(d.isoformat() for d in sorted(hours.closed))}")
        rows.append(f"after hours: {_after_hours(graph, quote=False)}")
    if not rows:
        return []
    return [f'    Line>"{"<br/>".join(rows)}"]', "    Line -.- in"]


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
        node = graph.nodes.get(name)
        if node is None:  # the pacer the pipeline adds
            label = f"{name}<br/>{PACER_TYPE}<br/>(added)"
        else:
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

    chain = _running_chain(graph)
    tails = walk(chain, ["in"])
    lines.append("    out([transport out])")
    edges.extend(f"    {tail} --> out" for tail in tails)
    for node, channel, peer in _channels(graph, chain):
        arrow = f"== {channel} ==>" if channel == "media" else f"-. {channel} .->"
        edges.append(f"    {_id(node)} {arrow} {_id(peer)}")

    producers = _producers(graph)
    for tap in graph.taps:
        lines.append(node_line(tap, ("[/", "/]")))
        sources = [
            p for kind in sorted(graph.nodes[tap].type.consumes) for p in producers.get(kind, [])
        ]
        for source in dict.fromkeys(sources or ["in"]):
            edges.append(f"    {source} -.-> {_id(tap)}")
    if graph.transfer:
        edges.append(f"    %% transfer: {_destinations(graph)}")
    return "\n".join([*lines, *edges, *_line_note(graph)]) + "\n"


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
