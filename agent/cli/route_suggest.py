"""`python -m agent route suggest ROUTE [N] [--graph NAME]`: paraphrases of a route from the LLM.

Asks the graph's Groq model (GROQ_MODEL at GROQ_BASE_URL, with GROQ_API_KEY; the OpenAI
client, as the groq_llm node and the lead extraction use it) for N ways a caller might say
what ROUTE answers, given its answer, its examples and its near misses. It prints the new
ones (not already an example or near miss) as YAML lines to paste under the route's
`examples:` in routes.yaml, each with how the router scores it today, so a person decides
what to accept: nothing is written. After accepting some, re-run `python -m bench.router_eval`
(never against bench/router_heldout.yaml's sentences: that set stays untouched).
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TextIO

from agent.errors import GraphError, SwitchboardError
from agent.graph import load_named_graph
from agent.phrases.intent import normalise
from agent.phrases.node_matcher import standalone_matcher
from agent.phrases.routes import Route, load_routes

DEFAULT_COUNT = 10
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def prompt_for(name: str, route: Route, count: int) -> str:
    """The request for `count` paraphrases of one route."""
    examples = "\n".join(f"- {e}" for e in route.examples)
    near = "\n".join(f"- {e}" for e in route.not_examples) or "- (none)"
    return (
        f"A phone receptionist answers callers' intent '{name}' with: {route.say!r}\n"
        f"Callers already say it like this:\n{examples}\n"
        f"These are NOT this intent:\n{near}\n"
        f"Write {count} new, different ways a real caller on the phone might say this intent: "
        "everyday spoken English, some short, some long and hesitant, idioms welcome. "
        "One per line, no numbering, no quotes, nothing else."
    )


def parse_lines(text: str, known: set[str]) -> list[str]:
    """The reply's lines as paraphrases: bullets stripped, blank, known and repeated dropped."""
    out: list[str] = []
    seen = set(known)
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip().strip('"').strip()
        key = normalise(line)
        if key and key not in seen:
            seen.add(key)
            out.append(line)
    return out


async def ask_llm(config, prompt: str) -> str:
    from openai import AsyncOpenAI

    key = config.require("GROQ_API_KEY", "route suggest")
    client = AsyncOpenAI(api_key=key.reveal(), base_url=config.groq_base_url, timeout=60)
    try:
        reply = await client.chat.completions.create(
            model=config.groq_model,
            messages=[{"role": "user", "content": prompt}],
            temperature=0.9,
        )
    finally:
        await client.close()
    return reply.choices[0].message.content or ""


def suggest_main(argv: list[str], graph_name: str | None, config, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not argv or len(argv) > 2 or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: python -m agent route suggest ROUTE [N]", file=sys.stderr)
        return 2
    if config.groq_api_key is None:
        print(
            "route suggest asks the LLM for paraphrases: set GROQ_API_KEY (environment or "
            ".env); it uses GROQ_MODEL at GROQ_BASE_URL. Nothing was asked.",
            file=sys.stderr,
        )
        return 2
    name, count = argv[0], int(argv[1]) if len(argv) == 2 else DEFAULT_COUNT
    try:
        graph = load_named_graph(graph_name, config)
        node = next((n for n in graph.chain_nodes() if n.type.name == "intent_router"), None)
        if node is None:
            raise GraphError(f"graph '{graph.name}' has no intent_router node")
        routes = load_routes(graph.resolve_path(node.params.routes))
    except SwitchboardError as exc:
        print(exc, file=sys.stderr)
        return 2
    if name not in routes.routes:
        print(f"no route {name!r}; routes: {', '.join(routes.routes)}", file=sys.stderr)
        return 2
    route = routes.routes[name]
    try:
        reply = asyncio.run(ask_llm(config, prompt_for(name, route, count)))
    except Exception as exc:  # the provider's error, said precisely; nothing to undo
        print(
            f"route suggest: the LLM request failed: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
    known = {normalise(t) for t in [*route.examples, *route.not_examples]}
    lines = parse_lines(reply, known)
    if not lines:
        print(f"the LLM gave no new paraphrase of {name!r}", file=out)
        return 0
    matcher = standalone_matcher(node.params, graph.resolve_path, routes)
    print(
        f"# {len(lines)} paraphrases of {name!r} to review; paste the ones you accept under",
        file=out,
    )
    print(f"# routes.{name}.examples in {graph.resolve_path(node.params.routes)}", file=out)
    for line in lines:
        hit = matcher.match(line)
        today = (
            "routes here today"
            if hit and hit.route == name
            else (f"today: {hit.route}" if hit else "today: the LLM")
        )
        print(f"      - {line}  # {today}", file=out)
    return 0
