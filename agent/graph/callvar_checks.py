"""Validation of a graph's call variables: each `${call.vars.NAME}` names a declared variable
and sits where it is filled in per call (agent/graph/callvars.py renders them).

A reference may sit in one of callvars.RENDERED_CALL_FIELDS of `call:` (said with the live
TTS) or in an LLM node's prompt file; anywhere else the text is said as written, from the
audio cache. An undeclared name gets a did-you-mean and the declared ones.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from agent.graph.callvars import RENDERED_CALL_FIELDS, references
from agent.graph.parse import Draft, Problem
from agent.graph.suggest import hint


def call_var_problems(draft: Draft, params: dict[str, BaseModel], base_dir: Path) -> list[Problem]:
    declared = list(draft.vars)
    uses = list(draft.env.call_vars)
    for name, node_params in params.items():
        prompt = getattr(node_params, "prompt", None)
        path = base_dir / prompt if isinstance(prompt, str) else None
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            uses += [(("nodes", name, "prompt"), var) for var in references(text)]
    problems: list[Problem] = []
    for loc, var in uses:
        ref = f"${{call.vars.{var}}}"
        allowed = (len(loc) == 2 and loc[0] == "call" and loc[1] in RENDERED_CALL_FIELDS) or (
            len(loc) == 3 and loc[0] == "nodes" and loc[2] == "prompt"
        )
        if not allowed:
            problems.append(
                (
                    loc,
                    f"{ref} cannot be filled in here: call variables go in call.greeting, "
                    "call.voicemail, call.goodbye, call.idle_prompt and the LLM's prompt file "
                    "(this text is said as written, from the audio cache)",
                )
            )
        elif var not in declared:
            problems.append(
                (
                    loc,
                    f"{ref}: unknown call variable '{var}'{hint(var, declared)}; declare it "
                    f"under vars: ({', '.join(declared) or 'none declared'})",
                )
            )
    return problems
