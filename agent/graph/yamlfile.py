"""Reading a graph file's YAML: safe loading, duplicate keys refused, errors located.

A syntax problem comes back as ((location,), message) with the line and column, like every
other problem, instead of an exception.
"""

from __future__ import annotations

import typing
from typing import Any

import yaml

from agent.graph.envsubst import Loc

Problem = tuple[Loc, str]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, typing.Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
# Dates stay text (`hours.closed: [2026-12-25]`): agent/graph/hours_read.py reads them, so a bad
# one (2026-13-01) is a located problem instead of PyYAML's ValueError mid-load.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(text: str) -> tuple[Any, Problem | None]:
    """Parse YAML; a syntax problem is located by line and column."""
    try:
        return yaml.load(text, Loader=_Loader), None  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "unreadable"
        if exc.context and exc.problem and exc.context_mark:
            cm = exc.context_mark
            what += f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        return None, ((where,), f"invalid YAML: {what}")
    except yaml.YAMLError as exc:
        return None, ((), f"invalid YAML: {exc}")


def compose_yaml(text: str) -> yaml.Node | None:
    """The YAML's node tree, with each node's line and column (None when it does not parse:
    `read_yaml` says why). For files whose problems are reported by line (agent/scenarios)."""
    try:
        return yaml.compose(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError:
        return None
