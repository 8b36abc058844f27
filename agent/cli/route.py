"""`python -m agent route "how much is it" [--graph NAME]`: how the router scores a sentence.

Prints every route's score (best similarity to one of its examples), its threshold, its
near-miss score (best similarity to one of its `not_examples`) and the example that scored
best, best first, then which route would answer at the configured thresholds, or that the
LLM would. With the node's classifier (`min_probability`), p(route) is its probability. For
tuning routes.yaml: add examples where a paraphrase scores low, near misses
where a wrong sentence scores high.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from agent.cli.common import load_config
from agent.cli.route_suggest import suggest_main
from agent.errors import GraphError, SwitchboardError
from agent.graph import load_named_graph
from agent.phrases.node_matcher import standalone_matcher
from agent.phrases.routes import load_routes


def route_report(text: str, matcher, routes, out: TextIO) -> str | None:
    """Print the scores of `text`; return the winning route's name (None: the LLM answers)."""
    ranked = matcher.scores(text)
    width = max([len("route"), *(len(s.route) for s in ranked)])
    print(f"{text!r}", file=out)
    print(f"  {'route':<{width}}  score  threshold  near-miss  p(route)  best example", file=out)
    for s in ranked:
        print(
            f"  {s.route:<{width}}  {s.score:5.3f}  {s.threshold:9.2f}  {s.guard:9.3f}  "
            f"{s.probability:8.2f}  {s.example}",
            file=out,
        )
    win = matcher.match(text)
    if win is not None:
        route = routes[win.route]
        action = "" if route.action == "none" else f", then {route.action}"
        print(
            f"-> {win.route} ({win.score:.3f} >= {win.threshold:.2f}{action}): {route.say!r}",
            file=out,
        )
        return win.route
    best = ranked[0] if ranked else None
    if best is None:
        why = "no routes"
    elif best.score < best.threshold:
        why = f"best is {best.route} at {best.score:.3f} < {best.threshold:.2f}"
    elif best.probability < best.min_probability:
        why = (
            f"the classifier gives {best.route} {best.probability:.2f} < {best.min_probability:.2f}"
        )
    else:
        why = f"{best.route} is closer to the near miss {best.near_miss!r} ({best.guard:.3f})"
    print(f"-> no route: the LLM answers ({why})", file=out)
    return None


def add_arguments(route: argparse.ArgumentParser) -> None:
    route.add_argument(
        "text",
        nargs="+",
        help="what a caller says; or `suggest ROUTE [N]`: paraphrases from the LLM",
    )
    route.add_argument("--graph", help="graph whose intent_router to use (default: DEFAULT_GRAPH)")


def main(args: argparse.Namespace) -> int:
    """`python -m agent route`; `python -m agent route suggest ROUTE`: agent/cli/route_suggest.py."""
    if args.text[0] == "suggest":
        return suggest_main(args.text[1:], args.graph, load_config())
    return run(" ".join(args.text), args.graph, load_config())


def run(text: str, graph_name: str | None, config, out: TextIO | None = None) -> int:
    try:
        graph = load_named_graph(graph_name, config)
    except GraphError as exc:
        print(exc, file=sys.stderr)
        return 2
    node = next((n for n in graph.chain_nodes() if n.type.name == "intent_router"), None)
    if node is None:
        print(f"graph '{graph.name}' has no intent_router node", file=sys.stderr)
        return 2
    try:
        routes = load_routes(graph.resolve_path(node.params.routes))
    except SwitchboardError as exc:
        print(exc, file=sys.stderr)
        return 2
    matcher = standalone_matcher(node.params, graph.resolve_path, routes)
    route_report(text, matcher, routes.routes, out or sys.stdout)
    return 0
