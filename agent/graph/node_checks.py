"""Validation of a graph's nodes one by one: their params (pass 2) and the names they use (pass 3).

    read_node_params   each node's keys against its type's Params (agent/nodes/params.py),
                       the files its params name exist, `replace_with.when` is a boolean
    reference_problems chain, taps and `replace_with` name nodes that exist; node types the
                       registry knows (with a did-you-mean)

Both stay quiet where `${env:...}` did not resolve (pass 7 reports it) and leave an unknown
node type to pass 3. Called by agent/graph/validate.py, which collects the problems.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from agent.graph import parse
from agent.graph.envsubst import Loc, parse_bool
from agent.graph.parse import Draft, Problem
from agent.graph.registry import Registry
from agent.graph.suggest import hint
from agent.nodes.params import file_ref_fields


def read_node_params(
    draft: Draft, registry: Registry, base_dir: Path
) -> tuple[dict[str, BaseModel], dict[str, bool], list[Problem]]:
    """Pass 2: (each readable node's params, each `replace_with.when` read, problems)."""
    params: dict[str, BaseModel] = {}
    replace_when: dict[str, bool] = {}
    problems: list[Problem] = []
    unresolved = draft.env.unresolved
    for name, spec in draft.specs.items():
        replace = spec.replace_with
        if replace is not None and ("nodes", name, "replace_with", "when") not in unresolved:
            try:
                replace_when[name] = parse_bool(replace.when)
            except ValueError as exc:
                problems.append((("nodes", name, "replace_with", "when"), str(exc)))
        node_type = registry.get(spec.type)
        if node_type is None:
            continue  # pass 3 reports it
        read, more = parse.read_params(name, node_type.params, spec.params, unresolved)
        problems += more
        if read is None:
            continue
        params[name] = read
        for key in file_ref_fields(node_type.params):
            value = getattr(read, key)
            if value and (problem := parse.check_file_ref(name, key, value, base_dir)):
                problems.append(problem)
    return params, replace_when, problems


def reference_problems(
    draft: Draft, registry: Registry, chain_names: list[tuple[Loc, str]]
) -> list[Problem]:
    """Pass 3: names of nodes and node types that do not exist."""
    problems: list[Problem] = []
    names = draft.node_names
    for loc, name in [*chain_names, *draft.taps]:
        if name not in names:
            problems.append((loc, f"unknown node '{name}'{hint(name, names)}"))
    for name, spec in draft.specs.items():
        if spec.replace_with and spec.replace_with.node not in names:
            target = spec.replace_with.node
            problems.append(
                (
                    ("nodes", name, "replace_with", "node"),
                    f"unknown node '{target}'{hint(target, names)}",
                )
            )
        loc = ("nodes", name, "type")
        if spec.type not in registry and loc not in draft.env.unresolved:
            suggestion = hint(spec.type, registry.names())
            known = "" if suggestion else f"; known types: {', '.join(registry.names())}"
            problems.append((loc, f"unknown node type '{spec.type}'{suggestion}{known}"))
    return problems
