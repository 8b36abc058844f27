"""Validation of what names a transfer destination (the graph file's `transfer:` section).

Three things may put a call through to a person, and each names a destination:
a keypad digit (`call.dtmf: {"0": {transfer: front_desk}}`), an intent route of the
router's routes file (`action: transfer`, `destination: front_desk`), and the LLM's
transfer_call tool (`groq_llm`'s `transfer_to: [...]`). Each name must be one of the graph's
destinations, with a did-you-mean; a digit or tool that transfers needs the section at all.

A graph without a `transfer:` section leaves a routes file's transfer routes off (the routes
file is shared by graphs; the local graph has no one to transfer to); one with the section
must name only its own destinations there too. Whether a destination is *active* (its `to`
resolved to a number) is a run-time matter (agent/graph/resolved.py), not a problem here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from agent.graph.envsubst import Loc
from agent.graph.parse import Draft
from agent.graph.suggest import hint
from agent.graph.yamlfile import read_yaml
from agent.nodes.params import GroqLLMParams, IntentRouterParams


def transfer_problems(
    draft: Draft, params: dict[str, BaseModel], base_dir: Path
) -> list[tuple[Loc, str]]:
    names = list(draft.transfer)
    problems: list[tuple[Loc, str]] = []

    def unknown(loc: Loc, name: str, what: str) -> None:
        if not names:
            problems.append(
                (
                    loc,
                    f"{what} transfers to '{name}', but the graph has no `transfer:` destinations",
                )
            )
        elif name not in names:
            problems.append(
                (
                    loc,
                    f"{what} transfers to unknown destination '{name}'{hint(name, names)}; "
                    f"destinations: {', '.join(names)}",
                )
            )

    for digit, action in draft.call.dtmf.items() if draft.call else ():
        if action.action != "transfer":
            continue
        loc: Loc = ("call", "dtmf", digit)
        if action.destination is None:
            if not names:
                problems.append(
                    (loc, "keypad transfer, but the graph has no `transfer:` destinations")
                )
        else:
            unknown((*loc, "destination"), action.destination, f"digit '{digit}'")

    for node, node_params in params.items():
        spec = draft.specs.get(node)
        if spec is None:
            continue
        if isinstance(node_params, GroqLLMParams):
            for i, name in enumerate(node_params.transfer_to or ()):
                where = ("nodes", node, "transfer_to", i)
                unknown(where, name, f"the transfer_call tool of '{node}'")
        if isinstance(node_params, IntentRouterParams) and names:
            problems += _route_problems(node, node_params.routes, base_dir, names)
    return problems


def _route_problems(node: str, routes_file: str, base_dir: Path, names: list[str]):
    """Transfer routes of the routes file naming a destination this graph lacks. Read as
    plain YAML (agent/phrases/routes.py validates the file itself when the node is built)."""
    try:
        data, problem = read_yaml((base_dir / routes_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []  # pass 2 reports a missing file
    routes = data.get("routes") if isinstance(data, dict) and not problem else None
    problems = []
    for route, spec in (routes if isinstance(routes, dict) else {}).items():
        if not isinstance(spec, dict) or spec.get("action") != "transfer":
            continue
        destination = str(spec.get("destination") or "")
        if destination not in names:
            problems.append(
                (
                    ("nodes", node, "routes"),
                    f"route '{route}' of {routes_file} transfers to unknown destination "
                    f"'{destination}'{hint(destination, names)}; destinations: {', '.join(names)}",
                )
            )
    return problems
