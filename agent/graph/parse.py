"""Reading a graph file: top-level schema (pass 1, after yamlfile.py) and node params (pass 2).

Each section is validated on its own, so one bad section does not hide problems in the
others and the later passes still have the good parts to work on. pydantic's errors are
turned into short messages with a dotted location (`nodes.vad.stop_secs`) and, for unknown
keys, a did-you-mean drawn from the fields allowed at that spot.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ForwardRef

from pydantic import BaseModel, ValidationError

from agent.graph import model as m
from agent.graph.envsubst import EnvResult, Loc
from agent.graph.suggest import did_you_mean, hint

Problem = tuple[Loc, str]  # (location, message); the caller adds file and severity
_TAGS = {m.NAME_TAG, m.PARALLEL_TAG}


@dataclass
class Draft:
    """What pass 1 could read; invalid sections are None / missing, never guessed."""

    data: dict[str, Any]
    env: EnvResult
    name: str | None = None
    description: str = ""
    call: m.CallSettings | None = None
    messages: m.MessagesSettings | None = None
    chain: list[tuple[Loc, Any]] = field(default_factory=list)  # (loc, str | ParallelBlock)
    chain_ok: bool = False  # every chain item was readable
    taps: list[tuple[Loc, str]] = field(default_factory=list)
    node_names: list[str] = field(default_factory=list)  # every key under nodes:
    specs: dict[str, m.NodeSpec] = field(default_factory=dict)  # the readable ones
    transfer: dict[str, m.TransferDestination] = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)  # checked by agent/graph/lines.py
    hours: m.HoursSettings | None = None  # checked and compiled by agent/graph/hours_read.py
    vocabulary: list[str] = field(default_factory=list)  # the business's words, for the STT
    vars: dict[str, m.VarSpec] = field(default_factory=dict)  # call variables (outbound)


# --- pydantic errors -----------------------------------------------------------------------


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def convert_errors(
    exc: ValidationError, root: Any, prefix: Loc, skip: set[Loc], also: tuple[str, ...] = ()
) -> list[Problem]:
    """pydantic errors → (location, message), relative to `root` (a model or annotation).

    `also`: more names an unknown top-level key may be a misspelling of.
    """
    problems: list[Problem] = []
    errors = exc.errors(include_url=False)
    # A misspelt required key shows up twice: unknown 'paralel' and missing 'parallel'.
    # The did-you-mean on the first says it all, so the second is dropped.
    suggested: set[Loc] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            rel = tuple(p for p in err["loc"] if p not in _TAGS)
            close = did_you_mean(str(rel[-1]), _candidates(root, rel[:-1], also))
            if close:
                suggested.add((*rel[:-1], close))
    for err in errors:
        rel = tuple(p for p in err["loc"] if p not in _TAGS)
        loc = (*prefix, *rel)
        if any(loc[: len(s)] == s for s in skip):
            continue  # an unresolved ${env:...} there; pass 7 reports it
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(rel[-1])
            problems.append(
                (loc[:-1], f"unknown field '{key}'{hint(key, _candidates(root, rel[:-1], also))}")
            )
        elif kind == "missing":
            if rel not in suggested:
                problems.append((loc[:-1], f"missing required field '{rel[-1]}'"))
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            problems.append((loc, f"should be a mapping of keys to values{_got(err)}"))
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Input ")
            problems.append((loc, f"{msg[0].lower()}{msg[1:]}{_got(err)}"))
    return problems


def _got(err: dict) -> str:
    value = err.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        return f" (got {value!r})"
    return f" (got a {'list' if isinstance(value, list) else 'mapping'})"


def _candidates(root: Any, loc: Loc, also: tuple[str, ...]) -> list[str]:
    return [*fields_at(root, loc), *(also if not loc else ())]


def fields_at(root: Any, loc: Loc) -> list[str]:
    """Field names of the model found by following `loc` from `root` (for did-you-mean)."""
    current = root
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        elif origin is list and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Annotated/Optional/union → the model (or container) inside; forward refs resolved."""
    for _ in range(10):
        if isinstance(annotation, str | ForwardRef):
            name = annotation if isinstance(annotation, str) else annotation.__forward_arg__
            annotation = getattr(sys.modules[m.__name__], name, None)
            continue
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
            structured = [a for a in members if a not in (str, int, float, bool)]
            annotation = structured[0] if structured else members[0]
        else:
            return annotation
    return annotation


# --- pass 1: the top level ---------------------------------------------------------------


def read_top_level(data: dict[str, Any], env: EnvResult, stem: str) -> tuple[Draft, list[Problem]]:
    draft = Draft(data=data, env=env)
    problems: list[Problem] = []
    skip = env.unresolved
    fields = m.GraphFile.model_fields
    for key in data:
        if key not in fields:
            problems.append(((), f"unknown field '{key}'{hint(str(key), fields)}"))
    for key, info in fields.items():
        if key not in data and info.is_required():
            problems.append(((), f"missing required field '{key}'"))

    scratch = m.GraphFile.model_construct()
    for key in (
        "name",
        "description",
        "call",
        "taps",
        "numbers",
        "hours",
        "transfer",
        "messages",
        "vocabulary",
        "vars",
    ):
        if key not in data:
            continue
        try:
            m.GraphFile.__pydantic_validator__.validate_assignment(scratch, key, data[key])
        except ValidationError as exc:
            problems += convert_errors(exc, m.GraphFile, (), skip)
            continue
        value = getattr(scratch, key)
        if key == "name":
            draft.name = value
            if value != stem:
                problems.append(
                    (
                        ("name",),
                        f"'{value}' does not match the file name '{stem}' (calls pick a graph by file name)",
                    )
                )
        elif key == "description":
            draft.description = value
        elif key == "call":
            draft.call = value
        elif key == "transfer":
            draft.transfer = value
        elif key == "numbers":
            draft.numbers = value
        elif key == "hours":
            draft.hours = value
        elif key == "messages":
            draft.messages = value
        elif key == "vocabulary":
            draft.vocabulary = value
        elif key == "vars":
            draft.vars = value
        else:
            draft.taps = [(("taps", i), name) for i, name in enumerate(value)]
    if "call" not in data:
        draft.call = m.CallSettings()

    chain = data.get("chain")
    if chain is not None and not isinstance(chain, list):
        problems.append((("chain",), "should be a list of node names and parallel blocks"))
    draft.chain_ok = isinstance(chain, list)
    for i, item in enumerate(chain if isinstance(chain, list) else []):
        try:
            draft.chain.append((("chain", i), m.CHAIN_ITEM.validate_python(item)))
        except ValidationError as exc:
            draft.chain_ok = False
            problems += convert_errors(exc, m.ParallelBlock, ("chain", i), skip)

    nodes = data.get("nodes")
    if "nodes" in data and not isinstance(nodes, dict):
        problems.append((("nodes",), "should be a mapping of node names to nodes"))
    for name, spec in (nodes if isinstance(nodes, dict) else {}).items():
        name = str(name)
        draft.node_names.append(name)
        problems += _check_node_name(name)
        if isinstance(spec, dict) and "type" not in spec:
            # `typ: x` would otherwise read as a param plus a missing type.
            close = did_you_mean("type", [str(k) for k in spec])
            if close:
                problems.append(
                    (("nodes", name), f"unknown field '{close}' (did you mean 'type'?)")
                )
                continue
        try:
            draft.specs[name] = m.NodeSpec.model_validate(spec)
        except ValidationError as exc:
            problems += convert_errors(exc, m.NodeSpec, ("nodes", name), skip)
    return draft, problems


def _check_node_name(name: str) -> list[Problem]:
    if name in m.RESERVED_NODE_NAMES:
        return [(("nodes", name), f"'{name}' is reserved for the transport; pick another name")]
    if not re.match(m.NODE_NAME_PATTERN, name):
        return [(("nodes", name), "node names are lower_snake_case (letters, digits, _)")]
    return []


# --- pass 2: node params -------------------------------------------------------------------


def read_params(
    node: str, params_model: type[BaseModel], values: dict[str, Any], skip: set[Loc]
) -> tuple[BaseModel | None, list[Problem]]:
    """Validate one node's params with its type's Params model."""
    # Keys whose ${env:...} did not resolve are left out (pass 7 reports them), so the
    # rest can still be checked, e.g. that the prompt file exists.
    values = {k: v for k, v in values.items() if ("nodes", node, k) not in skip}
    try:
        return params_model.model_validate(values), []
    except ValidationError as exc:
        return None, convert_errors(
            exc, params_model, ("nodes", node), skip, also=("type", "replace_with")
        )


def check_file_ref(node: str, key: str, value: str, base_dir: Path) -> Problem | None:
    """A file named by a FileRef field must exist (relative to the graph file)."""
    target = base_dir / value
    if target.is_file():
        return None
    folder = target.parent
    siblings = (
        [str((folder / f.name).relative_to(base_dir)) for f in folder.iterdir() if f.is_file()]
        if folder.is_dir() and folder.resolve().is_relative_to(base_dir.resolve())
        else []
    )
    return (("nodes", node, key), f"file not found: {value}{hint(value, siblings)}")
