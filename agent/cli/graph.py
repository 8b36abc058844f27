"""`python -m agent graph check|show|schema`.

Each handler prints and returns the process exit code: 0 fine, 1 a graph has errors (or
was not found), 2 a bad argument.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.common import load_config
from agent.config import Config
from agent.errors import GraphError
from agent.graph.draw import draw
from agent.graph.lines import check_across
from agent.graph.loader import SUFFIX, TESTS_SUFFIX, find_graph, graph_files, load_graph
from agent.graph.schema import schema_json
from agent.graph.validate import display_path, validate_file
from agent.scenarios.read import read_tests, tests_files


def check(paths: list[str], config: Config, strict: bool = False) -> int:
    """Validate files (default: every graph in GRAPHS_DIR, then every conversation-tests file
    there); print every problem, "ok" per good file.

    With `strict`, also require the settings the nodes need (what the server checks at start).
    Then across the valid files: a number claimed by two graphs is an error in both.
    """
    given = [Path(p) for p in paths]
    tests = [p for p in given if p.name.endswith(TESTS_SUFFIX)]
    files = [p for p in given if p not in tests] if paths else graph_files(config.graphs_dir)
    if not paths:
        tests = tests_files(config.graphs_dir)
    if not files and not tests:
        print(f"no graph files ({SUFFIX}) in {config.graphs_dir}", file=sys.stderr)
        return 1
    failed = False
    reports = [validate_file(path, config, strict=strict) for path in files]
    valid = [r.graph for r in reports if r.graph is not None]
    across = check_across(valid, display_path, serving=False)
    for report in reports:
        mine = [p for p in across if p.file == report.file]
        for problem in [*report.problems, *mine]:
            print(problem)
        if report.errors or mine:
            failed = True
            continue
        warned = len(report.warnings)
        extra = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
        print(f"{report.file}: ok{extra}")
    for path in tests:  # conversation tests (agent/scenarios): against their graphs
        tests_report = read_tests(path, config)
        for problem in tests_report.problems:
            print(problem)
        failed = failed or bool(tests_report.errors)
        if not tests_report.errors:
            print(f"{tests_report.file}: ok")
    return 1 if failed else 0


def show(name_or_path: str, fmt: str, config: Config) -> int:
    """Draw one graph, named or given as a file, as `text` or `mermaid`."""
    if fmt not in ("text", "mermaid"):
        print(f"unknown format {fmt!r}: use text or mermaid", file=sys.stderr)
        return 2
    try:
        if name_or_path.endswith(SUFFIX) or Path(name_or_path).is_file():
            path = Path(name_or_path)
            if not path.is_file():
                print(f"{display_path(path)}: no such file", file=sys.stderr)
                return 1
        else:
            path = find_graph(name_or_path, config.graphs_dir)
        graph = load_graph(path, config)
    except GraphError as exc:
        print(exc, file=sys.stderr)
        return 1
    sys.stdout.write(draw(graph, fmt))
    routers = [n.name for n in graph.chain_nodes() if n.type.name == "intent_router"]
    if routers and not config.router_enabled and fmt == "text":
        print(
            f"router: off ({', '.join(routers)}; ROUTER_ENABLED=false): every turn goes to the LLM"
        )
    return 0


def schema() -> int:
    """Print the graph file JSON Schema."""
    sys.stdout.write(schema_json())
    return 0


def add_arguments(graph: argparse.ArgumentParser) -> None:
    gsub = graph.add_subparsers(dest="graph_cmd", required=True)
    check_cmd = gsub.add_parser("check", help="validate graph files (default: all in GRAPHS_DIR)")
    check_cmd.add_argument("files", nargs="*")
    show_cmd = gsub.add_parser("show", help="draw a graph")
    show_cmd.add_argument("name", help="graph name or file")
    show_cmd.add_argument("--format", choices=("text", "mermaid"), default="text")
    gsub.add_parser("schema", help="print the graph file JSON Schema")
    # Listed here for `graph --help`; agent/cli/main.py runs it (agent/cli/graph_test.py).
    gsub.add_parser("test", help="run the graphs' conversation tests (graph test --help)")


def main(args: argparse.Namespace) -> int:
    """`python -m agent graph ...`."""
    config = load_config()
    if args.graph_cmd == "check":
        return check(args.files, config)
    if args.graph_cmd == "show":
        return show(args.name, args.format, config)
    return schema()
