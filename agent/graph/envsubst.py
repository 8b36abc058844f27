"""`${env:VAR}` and `${env:VAR|default}` in graph files.

Any string value (at any depth: mappings, lists) may hold references. They resolve from
`Config.environ` (the environment over `.env`); a variable that is a declared setting with a
default falls back to that default, so `${env:CARTESIA_VOICE_ID}` means what the rest of
the configuration means by it. `$${` writes a literal `${`. `${call.vars.NAME}` is left as written (a call variable, filled
in per call: agent/graph/callvars.py) and listed in `call_vars`.

Secrets are refused even when set: a graph's values are printed by `graph show` and logged,
and node types read their keys from the configuration themselves.

Problems are returned, not raised, so a file reports all of them at once; a value that could
not be resolved is left as written and its location recorded in `unresolved`, so later
passes can skip it instead of reporting a second, confusing error about the same value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.config import SETTINGS_BY_NAME
from agent.graph.suggest import did_you_mean

Loc = tuple[str | int, ...]

_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_CALL_VAR = re.compile(r"^call\.vars\.[A-Za-z_][A-Za-z0-9_]*$")
_INNER = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)(?:\|(.*))?$", re.DOTALL)


@dataclass
class EnvResult:
    """The substituted data plus what went wrong, by location."""

    value: Any
    problems: list[tuple[Loc, str]] = field(default_factory=list)
    unresolved: set[Loc] = field(default_factory=set)
    used: set[str] = field(default_factory=set)  # variable names referenced
    # `${call.vars.NAME}` references, left as written: (where, NAME) (checked in callvar_checks.py)
    call_vars: list[tuple[Loc, str]] = field(default_factory=list)


def substitute(data: Any, environ: Mapping[str, str], loc: Loc = ()) -> EnvResult:
    """Resolve every reference in `data` (a YAML-loaded structure)."""
    result = EnvResult(value=None)
    result.value = _walk(data, environ, loc, result)
    return result


def _walk(data: Any, environ: Mapping[str, str], loc: Loc, result: EnvResult) -> Any:
    if isinstance(data, dict):
        return {k: _walk(v, environ, (*loc, k), result) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, environ, (*loc, i), result) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        return _resolve_string(data, environ, loc, result)
    return data


def _resolve_string(text: str, environ: Mapping[str, str], loc: Loc, result: EnvResult) -> str:
    failed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal failed
        if match.group(0) == "$${":
            return "${"
        if _CALL_VAR.match(match.group(1)):  # a call variable: rendered per call (callvars.py)
            result.call_vars.append((loc, match.group(1).removeprefix("call.vars.")))
            return match.group(0)
        inner = _INNER.match(match.group(1))
        if not inner:
            failed = True
            result.problems.append(
                (
                    loc,
                    f"cannot read {match.group(0)!r}: write ${{env:VAR}} or ${{env:VAR|default}}",
                )
            )
            return match.group(0)
        name, default = inner.group(1), inner.group(2)
        result.used.add(name)
        value, problem = lookup(name, default, environ)
        if problem:
            failed = True
            result.problems.append((loc, problem))
            return match.group(0)
        return value

    resolved = _REF.sub(replace, text)
    if failed:
        result.unresolved.add(loc)
        return text
    return resolved


def lookup(name: str, default: str | None, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The value of `${env:name|default}`, or ("", the problem)."""
    setting = SETTINGS_BY_NAME.get(name)
    if setting is not None and setting.secret:
        return "", (
            f"${{env:{name}}} is a secret; graph files never hold secrets "
            f"(node types read {name} from the configuration themselves)"
        )
    value = environ.get(name)
    if value is not None and value.strip() != "":
        return value, None
    if default is not None:
        return default, None
    if setting is not None and setting.default is not None:
        return setting.default, None
    hint = did_you_mean(name, [*environ.keys(), *SETTINGS_BY_NAME.keys()])
    suffix = f" (did you mean '{hint}'?)" if hint else ""
    return "", (
        f"environment variable {name} is not set{suffix}; set it or give a default "
        f"with ${{env:{name}|default}}"
    )


def parse_bool(value: bool | str) -> bool:
    """Truthiness of a `when:` value, with the same words as the configuration's booleans."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")
