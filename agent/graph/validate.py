"""Validation of a graph file, in passes, reporting every problem at once.

    1 syntax and top level   YAML (line, column), unknown/missing top-level keys, call settings
    2 node params            each node's keys against its type's Params; files it names exist
    3 references             chain/taps/replace_with names that are not nodes; unknown types
    4 topology               empty chain, parallel with < 2 branches, a node used twice,
                             taps in the chain and chain nodes in taps, unused nodes (warning)
    5 frame flow             a node needs a kind nothing upstream produces; no agent audio
    6 audio formats          anything not at 8000 Hz (warning: resampled on every frame)
    transfers                what names a `transfer:` destination (a keypad digit, a route
                             action, the LLM's tool) names one that exists (transfers.py)
    call variables           each `${call.vars.NAME}` names a declared variable (did you
                             mean) and sits where it is filled in per call (callvar_checks.py)
    7 ${env:...}             unset variables, malformed references, secrets
    8 settings (strict)      the keys and packages the nodes in use need are there
                             (problems flagged `unavailable`: the file is fine, this machine is not)
    + lines                  numbers are E.164 and listed once (lines.py); hours: zone, days,
                             times, overlaps, closed dates, after_hours.graph (hours_read.py)

`${env:...}` is substituted before pass 1 so numbers and booleans can come from the
environment; a value that did not resolve is reported once, by pass 7, and skipped by the
others. Each pass stays quiet about things an earlier pass already reported (an unknown node
type does not also cause frame-flow errors downstream of it).

This module runs the passes in order and collects their problems into a `Report`, and
builds the `Graph` of a valid file. Where each pass lives: 1 parse.py (via yamlfile.py);
2 and 3 node_checks.py; 4 to 6 wiring.py; transfers transfers.py; call variables
callvar_checks.py; 7 envsubst.py (its problems are added here); 8 setting_checks.py; lines
lines.py and hours_read.py (read here, `pass_lines`); messages wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Config
from agent.errors import GraphProblem
from agent.graph import parse, yamlfile
from agent.graph.callvar_checks import call_var_problems
from agent.graph.envsubst import Loc, substitute
from agent.graph.hours import Schedule
from agent.graph.hours_read import read_schedule
from agent.graph.lines import read_numbers
from agent.graph.model import ParallelBlock
from agent.graph.node_checks import read_node_params, reference_problems
from agent.graph.registry import BUILTIN, Registry
from agent.graph.resolved import Graph, Node
from agent.graph.setting_checks import setting_problems
from agent.graph.transfers import transfer_problems
from agent.graph.wiring import WiringPasses


@dataclass
class Report:
    """The outcome of validating one file: every problem, and the graph when it is valid."""

    file: str
    problems: list[GraphProblem] = field(default_factory=list)
    graph: Graph | None = None

    @property
    def errors(self) -> list[GraphProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[GraphProblem]:
        return [p for p in self.problems if p.severity == "warning"]


def display_path(path: Path) -> str:
    """The path as shown in messages: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def validate_file(
    path: str | Path, config: Config, strict: bool = False, registry: Registry = BUILTIN
) -> Report:
    """Run every pass over one file. Never raises for a bad file; see Report.errors."""
    path = Path(path)
    report = Report(file=display_path(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(GraphProblem(report.file, "", f"cannot read the file: {exc}"))
        return report
    return _Validation(report, path, config, strict, registry).run(text)


class _Validation(WiringPasses):
    def __init__(
        self, report: Report, path: Path, config: Config, strict: bool, registry: Registry
    ):
        self.report, self.path, self.config = report, path, config
        self.strict, self.registry = strict, registry

    def add(
        self, loc: Loc, message: str, severity: str = "error", unavailable: bool = False
    ) -> None:
        self.report.problems.append(
            GraphProblem(self.report.file, parse.format_loc(loc), message, severity, unavailable)
        )

    def run(self, text: str) -> Report:
        data, problem = yamlfile.read_yaml(text)
        if problem:
            self.add(*problem)
            return self.report
        if data is None:
            self.add((), "the file is empty; a graph needs at least name, chain and nodes")
            return self.report
        if not isinstance(data, dict):
            self.add((), "the top level should be a mapping (name:, chain:, nodes:, ...)")
            return self.report

        env = substitute(data, self.config.environ)
        self.env = env
        self.draft, problems = parse.read_top_level(env.value, env, self.path.stem)
        for loc, message in problems:
            self.add(loc, message)
        self.params, self.replace_when, problems = read_node_params(
            self.draft, self.registry, self.path.parent
        )
        problems += reference_problems(self.draft, self.registry, self.chain_names())
        for loc, message in problems:
            self.add(loc, message)
        self.pass_topology()
        self.resolve()
        self.pass_flow()
        self.pass_audio()
        for loc, message in transfer_problems(self.draft, self.params, self.path.parent):
            self.add(loc, message)
        self.pass_lines()
        self.pass_messages()
        for loc, message in call_var_problems(self.draft, self.params, self.path.parent):
            self.add(loc, message)
        for loc, message in env.problems:
            self.add(loc, message)
        if self.strict:
            for loc, message in setting_problems(self.runs.values(), self.type_of, self.config):
                self.add(loc, message, unavailable=True)
        if not self.report.errors:
            self.report.graph = self.make_graph()
        return self.report

    # -- helpers

    def type_of(self, name: str):
        spec = self.draft.specs.get(name)
        return self.registry.get(spec.type) if spec else None

    def iter_chain(self, items=None, loc: Loc = ()):
        """(loc, item) for every name and block in the chain, depth-first."""
        pairs = self.draft.chain if items is None else [((*loc, i), x) for i, x in enumerate(items)]
        for item_loc, item in pairs:
            yield item_loc, item
            if isinstance(item, ParallelBlock):
                for b, branch in enumerate(item.parallel):
                    yield from self.iter_chain(branch, (*item_loc, "parallel", b))

    def chain_names(self) -> list[tuple[Loc, str]]:
        return [(loc, item) for loc, item in self.iter_chain() if isinstance(item, str)]

    # -- numbers and hours

    def pass_lines(self) -> None:
        skip = self.env.unresolved
        self.number_locs, problems = read_numbers(self.draft.numbers, skip)
        self.schedule: Schedule | None = None
        if self.draft.hours is not None:
            siblings = [
                p.stem
                for p in self.path.parent.glob("*.yaml")
                if p.is_file() and not p.name.endswith(".tests.yaml")
            ]
            stem = self.draft.name or self.path.stem
            self.schedule, more = read_schedule(
                self.draft.hours, graph=stem, graph_names=siblings, skip=skip
            )
            problems += more
        for loc, message in problems:
            self.add(loc, message)

    # -- result

    def make_graph(self) -> Graph:
        nodes: dict[str, Node] = {}
        for original, name in self.runs.items():
            nodes[name] = Node(
                name=name,
                type=self.type_of(name),
                params=self.params[name],
                replaces=original if original != name else None,
            )
        chain = self.resolved_items([item for _, item in self.draft.chain])
        messages = self.draft.messages
        return Graph(
            name=self.draft.name or self.path.stem,
            path=self.path,
            description=self.draft.description,
            call=self.draft.call,
            chain=tuple(chain),
            taps=tuple(self.runs[name] for _, name in self.draft.taps),
            nodes=nodes,
            warnings=tuple(self.report.warnings),
            transfer=dict(self.draft.transfer),
            numbers=tuple(self.number_locs),
            number_locs=dict(self.number_locs),
            hours=self.schedule,
            messages=messages if messages is not None and messages.enabled else None,
            vocabulary=tuple(self.draft.vocabulary),
            vars=dict(self.draft.vars),
        )
