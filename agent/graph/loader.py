"""Finding and loading graph files: one file, a whole folder, a graph by name.

A graph's name is its file name without `.yaml` (validation insists the `name:` inside
agrees), so `/twiml?graph=sales` means `graphs/sales.yaml`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

from agent.config import Config
from agent.errors import GraphError, GraphNotFound, GraphProblem
from agent.graph.lines import check_across
from agent.graph.registry import BUILTIN, Registry
from agent.graph.resolved import Graph
from agent.graph.suggest import did_you_mean, hint
from agent.graph.validate import display_path, validate_file

SUFFIX = ".yaml"
TESTS_SUFFIX = ".tests.yaml"  # a graph's conversation tests (agent/scenarios), not a graph


def load_graph(
    path: str | Path, config: Config, strict: bool = False, *, registry: Registry = BUILTIN
) -> Graph:
    """Load and validate one file; raises GraphError listing every error in it.

    With `strict`, the settings its nodes need (API keys) must be set too. Warnings do not
    fail; they are on `Graph.warnings`.
    """
    report = validate_file(path, config, strict=strict, registry=registry)
    if report.errors or report.graph is None:
        raise GraphError(report.errors)
    return report.graph


def load_named_graph(name: str | None, config: Config) -> Graph:
    """The graph called `name` (default: DEFAULT_GRAPH) in GRAPHS_DIR, loaded and validated."""
    return load_graph(find_graph(name or config.default_graph, config.graphs_dir), config)


def load_graphs(
    directory: str | Path, config: Config, strict: bool = False, *, registry: Registry = BUILTIN
) -> dict[str, Graph]:
    """Load every graph in a folder, by name; raises ONE GraphError with every error in every file."""
    graphs: dict[str, Graph] = {}
    errors: list[GraphProblem] = []
    for path in graph_files(directory):
        report = validate_file(path, config, strict=strict, registry=registry)
        if report.errors or report.graph is None:
            errors += report.errors
        else:
            graphs[report.graph.name] = report.graph
    errors += check_across(graphs.values(), display_path)  # numbers claimed twice
    if errors:
        raise GraphError(errors)
    return graphs


def load_servable_graphs(
    directory: str | Path,
    config: Config,
    default: str,
    *,
    only: Iterable[str] | None = None,
    registry: Registry = BUILTIN,
) -> tuple[dict[str, Graph], dict[str, list[GraphProblem]]]:
    """What a server can serve here: (graphs, skipped graphs with why).

    Strict validation of every file. A broken file is an error, as is the `default` graph
    failing for any reason; another graph that is fine but cannot run on this machine (a key
    or a package missing: problems flagged `unavailable`) is skipped, so a server with cloud
    keys need not install the local models, and a keyless one still serves the local graph.
    With `only` (the GRAPHS setting), just those graphs are loaded; an unknown name is an error.
    Across the graphs served: a number claimed by two of them, or an `after_hours.graph`
    that is not served, is an error (agent/graph/lines.py).
    """
    graphs: dict[str, Graph] = {}
    skipped: dict[str, list[GraphProblem]] = {}
    errors: list[GraphProblem] = []
    files = graph_files(directory)
    if only is not None:
        wanted = list(only)
        for name in wanted:
            find_graph(name, directory)  # GraphNotFound, with a did-you-mean
        files = [p for p in files if p.stem in wanted]
    for path in files:
        report = validate_file(path, config, strict=True, registry=registry)
        if not report.errors and report.graph is not None:
            graphs[report.graph.name] = report.graph
        elif path.stem != default and all(p.unavailable for p in report.errors):
            skipped[path.stem] = report.errors
        else:
            errors += report.errors
    # One number, one graph; an after-hours graph must be served too (not skipped).
    errors += check_across(graphs.values(), display_path)
    if errors:
        raise GraphError(errors)
    return graphs, skipped


def graph_files(directory: str | Path) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix == SUFFIX and not p.name.endswith(TESTS_SUFFIX) and p.is_file()
    )


def graph_names(directory: str | Path) -> list[str]:
    """Names of the graphs in a folder, sorted."""
    return [p.stem for p in graph_files(directory)]


def find_graph(name: str, directory: str | Path) -> Path:
    """The file of graph `name`; raises GraphNotFound (with a did-you-mean) when there is none."""
    names = graph_names(directory)
    if name in names:
        return Path(directory) / f"{name}{SUFFIX}"
    raise GraphNotFound(name, names, did_you_mean(name, names) or "")


def find_graph_hint(name: str, names: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"` for an unknown graph name, or ""."""
    return hint(name, names)


def provider_checks(
    graphs: Mapping[str, Graph], config: Config
) -> list[Callable[[], Awaitable[None]]]:
    """Start-up checks for the node types in use (e.g. "does the Groq model exist").

    One zero-argument coroutine function per node type that has a preflight, given the
    Params of every node of that type across all graphs; each raises ProviderError.
    """
    by_type: dict[str, tuple[object, list]] = {}
    for graph in graphs.values():
        for node in graph.nodes.values():
            if node.type.preflight:
                by_type.setdefault(node.type.name, (node.type, []))[1].append(node.params)
    checks = []
    for node_type, params_list in by_type.values():
        preflight = node_type.load_preflight()

        async def check(preflight=preflight, params_list=params_list) -> None:
            await preflight(config, params_list)

        checks.append(check)
    return checks
