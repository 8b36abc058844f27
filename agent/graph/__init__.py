"""Declarative call graphs: YAML files naming node types, validated, drawn and built.

    loader     load_graph / load_graphs / graph_names / find_graph     files → Graph
    validate   the passes (syntax … settings), every problem at once   → Report
               (reading: yamlfile, envsubst, parse; passes 4-6: wiring)
    model      pydantic models of the file; resolved: Graph, the loaded result
    hours      business hours: Schedule, LineState (open or closed for a call), WallClock;
               hours_read: reading and checking a graph's `hours:`
    lines      numbers: E.164 in a file, one graph per number across graphs
    registry   NodeType, the built-in node types (no vendor imports)
    build      build_graph(Graph, BuildContext) → GraphBuild           Graph → processors
    draw       text (gst-launch-like) and Mermaid pictures
    schema     JSON Schema of the file format, README node reference
    (the `python -m agent graph check|show|schema` commands live in agent/cli/graph.py)

Importing this package (and validating) imports neither pipecat nor any vendor SDK; only
`build_graph` and provider checks do, lazily.
"""

from agent.graph.build import BuildContext, CallInfo, GraphBuild, NodeBuild, build_graph
from agent.graph.draw import draw, draw_mermaid, draw_text
from agent.graph.loader import (
    find_graph,
    find_graph_hint,
    graph_names,
    load_graph,
    load_graphs,
    load_named_graph,
    load_servable_graphs,
    provider_checks,
)
from agent.graph.model import CallSettings, GraphFile, NodeSpec, ParallelBlock, ReplaceWith
from agent.graph.registry import BUILTIN, KINDS, NodeType, Registry
from agent.graph.resolved import Graph, Node
from agent.graph.schema import graph_schema
from agent.graph.validate import Report, validate_file

__all__ = [
    "BUILTIN",
    "KINDS",
    "BuildContext",
    "CallInfo",
    "CallSettings",
    "Graph",
    "GraphBuild",
    "GraphFile",
    "Node",
    "NodeBuild",
    "NodeSpec",
    "NodeType",
    "ParallelBlock",
    "Registry",
    "ReplaceWith",
    "Report",
    "build_graph",
    "draw",
    "draw_mermaid",
    "draw_text",
    "find_graph",
    "find_graph_hint",
    "graph_names",
    "graph_schema",
    "load_graph",
    "load_named_graph",
    "load_servable_graphs",
    "load_graphs",
    "provider_checks",
    "validate_file",
]
