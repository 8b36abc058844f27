"""Reading and checking a conversation-tests file, reporting every problem at once.

Problems are `GraphProblem`s whose file is `PATH:LINE` (the line of the offending key, found
in the YAML's node tree) and whose location is the dotted field (`scenarios[2].steps[0].
expect.route`), with a did-you-mean wherever a name was misspelt:

    1 syntax           YAML (line, column), duplicate keys (agent/graph/yamlfile.py)
    2 schema           the pydantic models (agent/scenarios/model.py): unknown fields, a step
                       with no action or two, wrong types
    3 the graph        the graph exists and is valid; route, transfer destination and tool
                       names are the graph's; `reply` needs an LLM the fakes can script;
                       `message` needs the graph's messages; `at` needs hours; `hours` are
                       checked like a graph's; scenario names are unique; an outbound
                       call's variables and its expectations (says_variable, voicemail):
                       agent/scenarios/read_outbound.py
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.config import SETTINGS_BY_NAME, Config
from agent.errors import GraphProblem
from agent.graph import parse, yamlfile
from agent.graph.envsubst import Loc
from agent.graph.hours_read import read_schedule
from agent.graph.loader import find_graph
from agent.graph.resolved import Graph
from agent.graph.suggest import hint
from agent.graph.validate import display_path, validate_file
from agent.phrases.routes import RoutesError, load_routes
from agent.scenarios.model import SUFFIX, Expect, TestsFile
from agent.scenarios.read_outbound import expect_problems, outbound_problems

# what the groq_llm node offers the LLM (agent/nodes/groq.py)
LLM_TOOLS = ("transfer_call", "take_message", "end_call", "do_not_call")
SCRIPTABLE_LLM = "groq_llm"  # the node type whose provider the Groq fake stands in for


@dataclass
class TestsReport:
    """One tests file: every problem, and (when there are none) the file and its graph."""

    file: str
    problems: list[GraphProblem] = field(default_factory=list)
    tests: TestsFile | None = None
    graph: Graph | None = None
    graph_name: str = ""

    @property
    def errors(self) -> list[GraphProblem]:
        return [p for p in self.problems if p.severity == "error"]


def graph_name_of(path: Path) -> str:
    return path.name.removesuffix(SUFFIX)


def tests_files(directory: str | Path) -> list[Path]:
    folder = Path(directory)
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file()) if folder.is_dir() else []


def read_tests(path: str | Path, config: Config) -> TestsReport:
    """Read and check one tests file against its graph (in the file's folder). Never raises."""
    path = Path(path)
    shown = display_path(path)
    report = TestsReport(file=shown, graph_name=graph_name_of(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(GraphProblem(shown, "", f"cannot read the file: {exc}"))
        return report
    tree = yamlfile.compose_yaml(text)

    def add(loc: Loc, message: str) -> None:
        line = line_of(tree, loc, message)
        where = f"{shown}:{line}" if line else shown
        report.problems.append(GraphProblem(where, parse.format_loc(loc), message))

    data, problem = yamlfile.read_yaml(text)
    if problem:
        loc, message = problem
        report.problems.append(GraphProblem(shown, "", f"{message} {loc[0] if loc else ''}"))
        return report
    if not isinstance(data, dict):
        add((), "the top level should be a mapping (graph:, env:, scenarios:)")
        return report
    try:
        tests = TestsFile.model_validate(data)
    except ValidationError as exc:
        for loc, message in parse.convert_errors(exc, TestsFile, (), set()):
            add(loc, _step_message(message))
        return report
    name = tests.graph or report.graph_name
    report.graph_name = name
    try:
        graph_path = find_graph(name, path.parent)
    except Exception as exc:  # GraphNotFound, with its did-you-mean
        add(("graph",) if tests.graph else (), str(exc))
        return report
    graph_report = validate_file(graph_path, config)
    if graph_report.errors or graph_report.graph is None:
        add(("graph",) if tests.graph else (), f"graph '{name}' is invalid (graph check)")
        report.problems += graph_report.errors
        return report
    graph = graph_report.graph
    for loc, message in check_against_graph(tests, graph, graph_path.read_text(encoding="utf-8")):
        add(loc, message)
    if not report.errors:
        report.tests, report.graph = tests, graph
    return report


def _step_message(message: str) -> str:
    return message.removeprefix("value error, ")


def route_names(graph: Graph) -> list[str] | None:
    """The routes of the graph's intent routers (None: the graph has no router)."""
    names: list[str] | None = None
    for node in graph.nodes.values():
        if node.type.name != "intent_router":
            continue
        names = names or []
        with contextlib.suppress(RoutesError, OSError):  # the graph's check reports those
            names += list(load_routes(graph.resolve_path(node.params.routes)).routes)
    return names


def check_against_graph(tests: TestsFile, graph: Graph, graph_text: str) -> list[tuple[Loc, str]]:
    """Names and settings the scenarios use that the graph does not have."""
    problems: list[tuple[Loc, str]] = []
    routes = route_names(graph)
    destinations = list(graph.transfer)
    has_llm = any(n.type.name == SCRIPTABLE_LLM for n in graph.nodes.values())
    for key in tests.env:
        problems += _env_problem(("env", key), key, graph_text)
    seen: dict[str, int] = {}
    for i, scenario in enumerate(tests.scenarios):
        here: Loc = ("scenarios", i)
        if scenario.name in seen:
            problems.append(
                ((*here, "name"), f"'{scenario.name}' is also scenario {seen[scenario.name]}")
            )
        seen.setdefault(scenario.name, i)
        for key in scenario.env:
            problems += _env_problem((*here, "env", key), key, graph_text)
        if scenario.hours is not None:
            _, more = read_schedule(scenario.hours, graph=graph.name, graph_names=[graph.name])
            problems += [((*here, *loc), message) for loc, message in more]
        if scenario.at is not None and scenario.hours is None and graph.hours is None:
            problems.append(
                (
                    (*here, "at"),
                    f"graph '{graph.name}' has no hours, so the time of day changes nothing; "
                    "give the scenario hours: or leave out at:",
                )
            )
        problems += outbound_problems(here, scenario, graph)
        expects = [((*here, "steps", j), step) for j, step in enumerate(scenario.steps)]
        if scenario.outbound is not None and scenario.outbound.expect is not None:
            expects.insert(0, ((*here, "outbound"), None))
        for loc, step in expects:
            if step is not None:
                problems += _step_problems(loc, step, graph, has_llm)
            expect = step.expect if step is not None else scenario.outbound.expect
            if expect is not None:
                at = (*loc, "expect")
                problems += _expect_problems(at, expect, graph, routes, destinations)
                problems += expect_problems(at, expect, scenario, graph)
    return problems


def _env_problem(loc: Loc, key: str, graph_text: str) -> list[tuple[Loc, str]]:
    setting = SETTINGS_BY_NAME.get(key)
    if setting is not None and setting.secret:
        return [
            (loc, f"{key} is a secret; tests files never hold secrets (the runs use dummy keys)")
        ]
    if setting is not None or f"env:{key}" in graph_text:
        return []
    return [
        (loc, f"'{key}' is neither a setting nor used by the graph{hint(key, SETTINGS_BY_NAME)}")
    ]


def _step_problems(loc, step, graph: Graph, has_llm) -> list:
    problems = []
    if step.reply is not None and not has_llm:
        problems.append(
            (
                (*loc, "reply"),
                f"graph '{graph.name}' has no {SCRIPTABLE_LLM} node, so there is no LLM to script "
                "(its answers come from its own nodes)",
            )
        )
    if step.reply is not None and not isinstance(step.reply, str):
        tool = step.reply.tool
        if tool not in LLM_TOOLS:
            problems.append(
                ((*loc, "reply", "tool"), f"unknown tool '{tool}'{hint(tool, LLM_TOOLS)}")
            )
    return problems


def _expect_problems(at, expect: Expect, graph: Graph, routes, destinations) -> list:
    problems = []
    if expect.route is not None:
        if routes is None:
            problems.append(((*at, "route"), f"graph '{graph.name}' has no intent_router"))
        elif expect.route not in routes:
            problems.append(
                ((*at, "route"), f"unknown route '{expect.route}'{hint(expect.route, routes)}")
            )
    if expect.transfer is not None and expect.transfer not in destinations:
        known = f"; its destinations: {', '.join(destinations)}" if destinations else ""
        problems.append(
            (
                (*at, "transfer"),
                f"graph '{graph.name}' has no transfer destination '{expect.transfer}'"
                f"{hint(expect.transfer, destinations)}{known}",
            )
        )
    if expect.message is not None:
        if graph.messages is None:
            problems.append(((*at, "message"), f"graph '{graph.name}' takes no messages"))
        fields = ("name", "callback_number", "about", "reason")
        for key in expect.message:
            if key not in fields:
                problems.append(
                    ((*at, "message", key), f"unknown message field '{key}'{hint(key, fields)}")
                )
    if expect.matches is not None:
        try:
            re.compile(expect.matches)
        except re.error as exc:
            problems.append(((*at, "matches"), f"not a regular expression: {exc}"))
    return problems


# --- lines -------------------------------------------------------------------------------


_UNKNOWN = re.compile(r"^unknown field '([^']+)'")


def line_of(tree: yaml.Node | None, loc: Loc, message: str = "") -> int | None:
    """The 1-based line of `loc` in the composed YAML (of the unknown key a message names,
    when there is one; else of the deepest part of `loc` that exists)."""
    if tree is None:
        return None
    found = _unknown_key(message)
    path = (*loc, found) if found else loc
    node: Any = tree
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _unknown_key(message: str) -> str | None:
    match = _UNKNOWN.match(message)
    return match.group(1) if match else None
