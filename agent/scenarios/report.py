"""What `graph test` prints and writes: the results table and JUnit XML.

The table has one row per scenario: passes of N, and the first failed expectation (with the
transcript around it underneath). JUnit XML has one <testsuite> per graph and one
<testcase> per scenario, failed when any of its runs failed (the message says how many
passed, so a 3/5 is never a pass), with the transcript in the failure's text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from agent.scenarios.check import Failure


@dataclass
class Outcome:
    """Every run of one scenario."""

    graph: str
    scenario: str
    runs: list[list[Failure]] = field(default_factory=list)  # each run's failures
    seconds: list[float] = field(default_factory=list)

    @property
    def passes(self) -> int:
        return sum(1 for failures in self.runs if not failures)

    @property
    def passed(self) -> bool:
        return bool(self.runs) and self.passes == len(self.runs)

    @property
    def first_failure(self) -> Failure | None:
        return next((failures[0] for failures in self.runs if failures), None)


def describe(failure: Failure) -> str:
    if failure.step is None:
        where = ""
    elif failure.step < 0:  # an outbound call's answer (outbound.expect)
        where = "the answer: "
    else:
        where = f"step {failure.step + 1}: "
    return f"{where}{failure.expectation}: {failure.message}"


def table(outcomes: list[Outcome], note: str | None = None) -> str:
    """The results, one row per scenario, failures' transcripts below; `note` (how the
    runs were made, e.g. `--live`) above."""
    names = [f"{o.graph} · {o.scenario}" for o in outcomes]
    width = max([len("scenario"), *map(len, names)])
    rows = [
        f"{'scenario':<{width}}  passes  first failure",
        f"{'─' * width}  ──────  ─────────────",
    ]
    details = []
    for name, o in zip(names, outcomes, strict=True):
        failure = o.first_failure
        rate = f"{o.passes}/{len(o.runs)}"
        rows.append(f"{name:<{width}}  {rate:>6}  {describe(failure) if failure else 'ok'}")
        if failure is not None:
            details.append(f"\n{name}: {describe(failure)}")
            details += [f"  {line}" for line in failure.transcript]
    failed = sum(not o.passed for o in outcomes)
    summary = f"\n{len(outcomes) - failed} of {len(outcomes)} scenarios passed"
    head = [note, ""] if note else []
    return "\n".join([*head, *rows, *details, summary]) + "\n"


def junit_xml(outcomes: list[Outcome]) -> str:
    """JUnit XML: a suite per graph, a case per scenario."""
    root = ET.Element("testsuites", name="graph test")
    by_graph: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_graph.setdefault(o.graph, []).append(o)
    for graph, items in by_graph.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=graph,
            tests=str(len(items)),
            failures=str(sum(not o.passed for o in items)),
            errors="0",
            time=f"{sum(sum(o.seconds) for o in items):.3f}",
        )
        for o in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"graphs.{graph}",
                name=o.scenario,
                time=f"{sum(o.seconds):.3f}",
            )
            failure = o.first_failure
            if failure is not None:
                element = ET.SubElement(
                    case,
                    "failure",
                    message=f"{o.passes}/{len(o.runs)} runs passed; {describe(failure)}",
                    type="expectation",
                )
                element.text = "\n".join(failure.transcript)
            out = ET.SubElement(case, "system-out")
            out.text = f"{o.passes}/{len(o.runs)} runs passed"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
