"""Checks of a tests file's outbound parts against the graph (agent/scenarios/read.py runs
them): the scenario's call variables, and the expectations only an outbound call has.

- `outbound.vars`: each one a variable the graph declares (did-you-mean), every required
  one given: the server's POST /calls would refuse the call otherwise, naming it.
- `says_variable`: needs `outbound:`; each name one of the scenario's `outbound.vars`, with a
  value (an empty one is in every answer, so it would prove nothing).
- `voicemail: true`: needs `outbound:` answered by a machine, and a graph with a
  `call.voicemail` to leave.
"""

from __future__ import annotations

from agent.graph.envsubst import Loc
from agent.graph.resolved import Graph
from agent.graph.suggest import hint
from agent.scenarios.model import Expect, Scenario


def outbound_problems(here: Loc, scenario: Scenario, graph: Graph) -> list[tuple[Loc, str]]:
    """The scenario's `outbound.vars` against the graph's `vars:`."""
    outbound = scenario.outbound
    if outbound is None:
        return []
    problems: list[tuple[Loc, str]] = []
    declared = list(graph.vars)
    for name in outbound.vars:
        if name not in declared:
            known = f"; its variables: {', '.join(declared)}" if declared else " (no vars:)"
            problems.append(
                (
                    (*here, "outbound", "vars", name),
                    f"graph '{graph.name}' has no call variable '{name}'"
                    f"{hint(name, declared)}{known}",
                )
            )
    for name, spec in graph.vars.items():
        if spec.required and name not in outbound.vars:
            problems.append(
                (
                    (*here, "outbound", "vars"),
                    f"the call variable '{name}' is required by graph '{graph.name}' (vars:); "
                    f"a call without it is refused: give it in outbound.vars",
                )
            )
    return problems


def expect_problems(
    at: Loc, expect: Expect, scenario: Scenario, graph: Graph
) -> list[tuple[Loc, str]]:
    """`says_variable` and `voicemail` of one expectation (`at`: its location)."""
    problems: list[tuple[Loc, str]] = []
    outbound = scenario.outbound
    if expect.says_variable is not None:
        loc = (*at, "says_variable")
        names = [expect.says_variable] if isinstance(expect.says_variable, str) else []
        names = names or list(expect.says_variable)
        if outbound is None:
            problems.append(
                (
                    loc,
                    "says_variable checks a call variable the agent says on an outbound call; "
                    "this scenario has no outbound: (its call variables)",
                )
            )
        else:
            given = list(outbound.vars)
            for name in names:
                if name not in given:
                    problems.append(
                        (
                            loc,
                            f"'{name}' is not one of the scenario's outbound.vars"
                            f"{hint(name, given)}",
                        )
                    )
                elif not outbound.vars[name].strip():
                    problems.append(
                        (loc, f"outbound.vars.{name} is empty: every answer contains it")
                    )
    if expect.voicemail:
        loc = (*at, "voicemail")
        if outbound is None or outbound.answers != "voicemail":
            problems.append(
                (loc, "voicemail: true needs an answering machine (outbound: answers: voicemail)")
            )
        elif not graph.call.voicemail:
            problems.append(
                (loc, f"graph '{graph.name}' has no call.voicemail to leave (it hangs up)")
            )
    return problems
