"""The private names pipecat and the SDKs it wraps define, read from their installed sources.

A private name starts with `_` (not `__`). Collected per class (`def _x` or `_x = ...` in
its body, `self._x = ...` in its methods) and per module (top-level `def _x`, `_x = ...`,
`import ... as _x`), from the syntax trees of every file of the installed packages, so the
lists follow the installed versions. Used by agent/adapters/private_uses.py.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

THIRD_PARTY = ("pipecat", "deepgram", "openai")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def self_assigned(func: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
            and is_private(node.attr)
        ):
            names.add(node.attr)
    return names


def class_privates(cls: ast.ClassDef) -> set[str]:
    names = set()
    for item in cls.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if is_private(item.name):
                names.add(item.name)
            names |= self_assigned(item)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name) and is_private(t.id)}
    return names


def module_privates(tree: ast.Module) -> set[str]:
    names = set()
    for item in tree.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if is_private(item.name):
                names.add(item.name)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name) and is_private(t.id)}
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name for a in item.names if is_private(a.asname or a.name)}
    return names


@dataclass
class ThirdParty:
    """Private names of the installed pipecat/SDK sources, per class and per module."""

    classes: dict[str, set[str]]  # "module:Qual.Name" → private names it defines
    modules: dict[str, set[str]]  # "module" → private names defined at its top level
    all_names: set[str]


@functools.cache
def third_party(packages: tuple[str, ...] = THIRD_PARTY) -> ThirdParty:
    classes: dict[str, set[str]] = {}
    modules: dict[str, set[str]] = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        base = Path(next(iter(spec.submodule_search_locations)))
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue
            modules[module] = module_privates(tree)
            for node, qual in class_defs(tree):
                classes[f"{module}:{qual}"] = class_privates(node)
    all_names = set().union(*classes.values(), *modules.values())
    return ThirdParty(classes, modules, all_names)


def class_defs(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield node, prefix + node.name
            yield from class_defs(node, prefix + node.name + ".")


def is_third_party(module: str) -> bool:
    return module.split(".")[0] in THIRD_PARTY


def mro_privates(cls: type, tp: ThirdParty) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if is_third_party(klass.__module__):
            names |= tp.classes.get(f"{klass.__module__}:{klass.__qualname__}", set())
    return names
