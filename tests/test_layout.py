"""The layout's rules, read from the source (nothing imported):

- no import cycle among the project's modules (agent/, processors/), counting every import:
  top-level, under `if TYPE_CHECKING:`, and inside functions;
- at most MAX_ROOT_MODULES modules at the root of agent/ (the rest live in packages);
- a project import inside a function only in the modules of LAZY_IMPORTS, each with its
  reason: an import that would close a cycle is fixed by layering, not hidden in a function.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("agent", "processors")
MAX_ROOT_MODULES = 10

# module (or package prefix ending in ".") -> why its functions import project modules
LAZY_IMPORTS = {
    "agent.graph.build": "pipecat's ParallelPipeline on first build: importing agent.graph "
    "(`graph check`) must not import pipecat",
    "agent.phrases.build": "pipecat (the graph's TTS) only when a phrase must be rendered: "
    "`audio build --check` loads none of it",
    "agent.cli.serve": "the WEB_CONCURRENCY>1 supervisor process never loads the app it "
    "does not run (pipecat, models)",
    "agent.nodes.": "node builders import their processors and vendor SDKs on first build, so "
    "validating a graph (`graph check`) imports none of them",
}


def project_modules() -> dict[str, Path]:
    modules = {}
    for top in PROJECT:
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = project_modules()


def _targets(node: ast.Import | ast.ImportFrom, current: str) -> list[str]:
    """The project modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = current.split(".")
            if MODULES[current].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:  # `import agent.x.y` names agent.x.y's module
            name = name.rpartition(".")[0]
        if name and name.split(".")[0] in PROJECT:
            found.append(name)
    return found


def imports() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """(every module's imported project modules, [(module, target, line)] inside functions)."""
    edges: dict[str, set[str]] = defaultdict(set)
    in_functions = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function_nodes = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for node in ast.walk(func)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, name):
                if target == name:
                    continue
                edges[name].add(target)
                if id(node) in in_function_nodes:
                    in_functions.append((name, target, node.lineno))
    return edges, in_functions


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _allowed(module: str) -> bool:
    return any(
        module.startswith(key) if key.endswith(".") else module == key for key in LAZY_IMPORTS
    )


def test_no_import_cycle_among_the_projects_modules():
    edges, _ = imports()
    assert cycles(edges) == []


def test_the_cycle_check_can_see_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_few_modules_at_the_root_of_agent():
    root = sorted(p.name for p in (ROOT / "agent").glob("*.py") if p.name != "__init__.py")
    assert len(root) <= MAX_ROOT_MODULES, root


def test_project_imports_inside_functions_only_where_allowed_with_a_reason():
    _, in_functions = imports()
    assert in_functions, "the scan found no in-function import at all: is it still working?"
    unexplained = [f"{m}:{line} imports {t}" for m, t, line in in_functions if not _allowed(m)]
    assert unexplained == []


def test_every_module_allowance_is_still_used():
    _, in_functions = imports()
    lazy = {m for m, _, _ in in_functions}
    for key in (k for k in LAZY_IMPORTS if not k.endswith(".")):
        assert key in lazy, f"{key} imports nothing inside functions now: drop it from LAZY_IMPORTS"
