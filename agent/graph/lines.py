"""Phone lines: which graph answers which number, checked within a file and across graphs.

One number, one graph: a graph lists the numbers it answers (`numbers: ["+15551234567"]`,
E.164). Within a file (`read_numbers`, part of validation): each entry is E.164 (with a
did-you-mean when only spaces, dashes, dots or brackets are in the way) and listed once; an
empty entry, as an unset `${env:VAR|}` leaves, is skipped. Across graphs (`check_across`,
run by `graph check`, `load_graphs` and the server before it starts): a number claimed by
two graphs is an error in both files, each naming the other; an `after_hours.graph` must be
among the graphs served (the file check only knows it exists in the folder).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from agent.errors import GraphProblem
from agent.graph.resolved import Graph

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SEPARATORS = re.compile(r"[\s\-.()/]")


def read_numbers(
    values: Sequence[str], skip: set[Loc] = frozenset()
) -> tuple[dict[str, int], list[Problem]]:
    """The numbers of a graph file, in order, each with its index in the file's list (empty
    entries skipped), and the problems."""
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for i, raw in enumerate(values):
        loc = ("numbers", i)
        if loc in skip:
            continue
        number = raw.strip()
        if not number:
            continue
        if not E164.match(number):
            problems.append((loc, _not_e164(number)))
            continue
        if number in seen:
            problems.append((loc, f"{number} is already listed at numbers[{seen[number]}]"))
            continue
        seen[number] = i
    return seen, problems


def _not_e164(number: str) -> str:
    message = f"'{number}' is not an E.164 number (+, country code, then digits: +15551234567)"
    bare = _SEPARATORS.sub("", number)
    if bare.startswith("00"):
        bare = "+" + bare[2:]
    if E164.match(bare):
        return f"{message} (did you mean '{bare}'?)"
    if E164.match("+" + bare):
        return f"{message}; start it with + and the country code (US and Canada: '+1{bare}')"
    return message


def number_map(graphs: Mapping[str, Graph]) -> dict[str, str]:
    """Number → the name of the graph that answers it (check_across keeps it one-to-one)."""
    return {number: name for name, graph in graphs.items() for number in graph.numbers}


def check_across(
    graphs: Iterable[Graph], file_of: Callable[[Path], str] = str, *, serving: bool = True
) -> list[GraphProblem]:
    """Problems between graphs: numbers claimed twice, after-hours graphs not among them.

    `file_of` shows a graph's path in messages (validate.display_path: relative to here).
    With `serving` false (`graph check`, which may be given any files), numbers only.
    """
    graphs = list(graphs)
    files = {g.name: file_of(g.path) for g in graphs}
    problems: list[GraphProblem] = []
    claims: dict[str, list[tuple[str, int]]] = {}
    for graph in graphs:
        for i, number in enumerate(graph.numbers):
            claims.setdefault(number, []).append((graph.name, graph.number_locs.get(number, i)))
    for number, owners in claims.items():
        if len(owners) < 2:
            continue
        for name, index in owners:
            others = ", ".join(f"{files[o]} (numbers[{j}])" for o, j in owners if o != name)
            problems.append(
                GraphProblem(
                    files[name],
                    f"numbers[{index}]",
                    f"{number} is also claimed by {others}; a number is answered by one graph",
                )
            )
    names = {g.name for g in graphs}
    for graph in graphs if serving else ():
        target = graph.hours.after_hours.graph if graph.hours and graph.hours.after_hours else None
        if target is not None and target not in names:
            problems.append(
                GraphProblem(
                    files[graph.name],
                    "hours.after_hours.graph",
                    f"graph '{target}' is not served here (see GRAPHS; a graph missing keys "
                    f"or packages is skipped): calls while closed would have nowhere to go",
                )
            )
    return problems
