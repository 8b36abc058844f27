"""Validation pass 8 (strict): this machine has what the nodes in use need — their settings
(agent/config.py) and their Python packages.

Its problems are flagged `unavailable`: the graph file is fine, this machine is not set up
to run it (`graph validate --strict`, the server's start).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable

from agent.config import Config
from agent.errors import ConfigError
from agent.graph.parse import Problem
from agent.graph.registry import NodeType


def setting_problems(
    names: Iterable[str], type_of: Callable[[str], NodeType | None], config: Config
) -> list[Problem]:
    """For each node name that runs (in order, once): missing settings and packages."""
    problems: list[Problem] = []
    for name in dict.fromkeys(names):
        node_type = type_of(name)
        for setting in node_type.required_settings if node_type else ():
            try:
                config.require(setting, f"the {node_type.name} node '{name}'")
            except ConfigError as exc:
                problems.append((("nodes", name), str(exc)))
        for package in node_type.packages if node_type else ():
            if importlib.util.find_spec(package) is None:
                problems.append(
                    (
                        ("nodes", name),
                        f"the {node_type.name} node '{name}' needs the Python package "
                        f"'{package}': pip install -e '.[local]'",
                    )
                )
    return problems
