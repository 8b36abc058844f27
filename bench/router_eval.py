"""Precision and recall of the intent router's default routes and thresholds.

    python -m bench.router_eval              # print the tables
    python -m bench.router_eval --write      # and update the router section of RESULTS.md

The evaluation set is bench/router_eval.yaml: paraphrases of each route (none of them an
example in routes.yaml) and sentences that must not match, many of them near misses; plus a
held-out part written before the routes were tuned. Routes, examples and thresholds are the
receptionist graph's (its intent_router node: routes file, `threshold`, encoder), scored by
the same RouteMatcher calls use.

- precision: of the sentences the router answered, the share it answered with the right route
  (a sentence that must not match, or the wrong route, counts against it);
- recall: of the paraphrases, the share answered with their route;
- a sweep of the node's threshold (routes with their own threshold keep it) shows the trade.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.phrases.intent import RouteMatcher  # noqa: E402

EVAL = Path(__file__).resolve().parent / "router_eval.yaml"
SWEEP = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)


@dataclass
class Score:
    """Counts over one set of sentences."""

    paraphrases: int = 0
    negatives: int = 0
    correct: Counter = field(default_factory=Counter)  # route -> right answers
    predicted: Counter = field(default_factory=Counter)  # route -> answers given
    actual: Counter = field(default_factory=Counter)  # route -> paraphrases
    errors: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(self.predicted.values())

    @property
    def precision(self) -> float:
        return sum(self.correct.values()) / self.answered if self.answered else 1.0

    @property
    def recall(self) -> float:
        return sum(self.correct.values()) / self.paraphrases if self.paraphrases else 1.0

    @property
    def false_positives(self) -> int:
        return self.answered - sum(self.correct.values())


def evaluate(matcher: RouteMatcher, items: dict) -> Score:
    score = Score()
    for route, texts in (items.get("match") or {}).items():
        for text in texts:
            score.paraphrases += 1
            score.actual[route] += 1
            hit = matcher.match(text)
            if hit is not None:
                score.predicted[hit.route] += 1
            if hit is not None and hit.route == route:
                score.correct[route] += 1
            else:
                best = matcher.scores(text)[0]
                got = f"-> {hit.route}" if hit else f"missed (best {best.route} {best.score:.2f})"
                score.errors.append(f"{route}: {text!r} {got}")
    for text in items.get("no_match") or []:
        score.negatives += 1
        hit = matcher.match(text)
        if hit is not None:
            score.predicted[hit.route] += 1
            score.errors.append(f"must not match: {text!r} -> {hit.route} ({hit.score:.2f})")
    return score


def receptionist_router(graph: str):
    """(routes file, node params, the graph's resolve_path) of the graph's intent_router node."""
    from agent.config import Config
    from agent.graph import find_graph, load_graph
    from agent.phrases.routes import load_routes

    config = Config.load(env={"GRAPHS_DIR": str(ROOT / "graphs")}, dotenv_path=None)
    loaded = load_graph(find_graph(graph, config.graphs_dir), config)
    node = next(n for n in loaded.chain_nodes() if n.type.name == "intent_router")
    routes = load_routes(loaded.resolve_path(node.params.routes))
    return routes, node.params, loaded.resolve_path


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def table(rows: list[tuple[str, Score]]) -> list[str]:
    lines = [
        "| set | paraphrases | must not match | answered | right | wrong or false | "
        "precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s.paraphrases} | {s.negatives} | {s.answered} | "
            f"{sum(s.correct.values())} | {s.false_positives} | {pct(s.precision)} | "
            f"{pct(s.recall)} |"
        )
    return lines


def per_route(score: Score, routes) -> list[str]:
    lines = ["| route | threshold | precision | recall |", "|---|---|---|---|"]
    for name, route in routes.items():
        predicted, correct, actual = score.predicted[name], score.correct[name], score.actual[name]
        precision = correct / predicted if predicted else 1.0
        recall = correct / actual if actual else 1.0
        lines.append(
            f"| {name} | {route} | {pct(precision)} ({correct}/{predicted}) | "
            f"{pct(recall)} ({correct}/{actual}) |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="receptionist")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)

    from agent.phrases.node_matcher import standalone_matcher

    routes, params, resolve_path = receptionist_router(args.graph)
    threshold, encoder_name = params.threshold, params.encoder
    min_probability = params.min_probability
    data = yaml.safe_load(EVAL.read_text())
    holdout = data.get("holdout") or {}

    def matcher_at(t: float) -> RouteMatcher:
        # the node's matcher (training file, n-grams and all) at another node threshold
        return standalone_matcher(params.model_copy(update={"threshold": t}), resolve_path, routes)

    matcher = matcher_at(threshold)
    tuning, held = evaluate(matcher, data), evaluate(matcher, holdout)
    both = evaluate(matcher, _merge(data, holdout))
    thresholds = {
        n: f"{r.threshold:.2f} (own)" if r.threshold else f"{threshold:.2f}"
        for n, r in routes.routes.items()
    }
    lines = [
        f"Routes: audio_cache/routes.yaml ({len(routes.routes)} routes, "
        f"{sum(len(r.examples) for r in routes.routes.values())} examples, "
        f"{sum(len(r.not_examples) for r in routes.routes.values())} near misses); "
        f"encoder {encoder_name}; node threshold {threshold:.2f}; classifier minimum "
        f"probability {min_probability}.",
        "",
        *table([("tuning set", tuning), ("held out", held), ("all", both)]),
        "",
        "Per route (all sentences):",
        "",
        *per_route(both, thresholds),
        "",
        "Node threshold sweep (all sentences; routes with their own threshold keep it):",
        "",
        "| node threshold | precision | recall | wrong or false answers |",
        "|---|---|---|---|",
    ]
    for t in SWEEP:
        s = evaluate(matcher_at(t), _merge(data, holdout))
        mark = " (default)" if abs(t - threshold) < 1e-9 else ""
        lines.append(
            f"| {t:.2f}{mark} | {pct(s.precision)} | {pct(s.recall)} | {s.false_positives} |"
        )
    errors = both.errors
    lines += ["", "Errors at the defaults:" if errors else "No errors at the defaults."]
    lines += [f"- {e}" for e in errors]
    print("\n".join(lines))
    if args.write:
        from bench.router_results import machine_line, now_utc, write_part

        body = "\n".join(
            [
                "### Precision and recall (`bench/router_eval.py`)",
                "",
                "- command: `python -m bench.router_eval --write`",
                f"- date: {now_utc()}; machine: {machine_line()}",
                "- set: `bench/router_eval.yaml`: paraphrases of each route and sentences that "
                'must not match (many near misses: "call me back", "can I talk to a real '
                'person", "wait, stop"), none of them a routes.yaml example. The tuning set '
                "was used to choose examples, near misses and thresholds. The held-out set was "
                "written before tuning; it was scored once, at the first defaults (node "
                "threshold 0.60: precision 94.1%, recall 72.7%, one wrong answer: 'How much "
                "are we talking?' -> who_are_you), which is why the node threshold became "
                "0.65; no example or near miss was added for a held-out sentence then. Since issue "
                "20's second round, both parts of this file (and bench/router_heldout.yaml) are "
                "development data: examples were added from their errors, so these numbers are "
                "not a held-out measure; that is `bench/router_candidates.py` on "
                "`bench/router_heldout2.yaml` (below).",
                "- precision: right answers / all answers given (wrong routes and answers to "
                "must-not-match sentences count against it); recall: right answers / "
                "paraphrases.",
                "",
                *lines,
            ]
        )
        write_part("router-eval", body)
        print("\nwrote the router-eval part of bench/RESULTS.md")
    return 0


def _merge(a: dict, b: dict) -> dict:
    match = {r: [*(a.get("match") or {}).get(r, []), *(b.get("match") or {}).get(r, [])]
             for r in {*(a.get("match") or {}), *(b.get("match") or {})}}  # fmt: skip
    return {"match": match, "no_match": [*(a.get("no_match") or []), *(b.get("no_match") or [])]}


if __name__ == "__main__":
    raise SystemExit(main())
