"""An intent_router node's matcher, from its params: routes, training file, encoder, settings.

One place that turns a node's params into a RouteMatcher, so the calls (agent/nodes/router.py,
inside the process cache), the CLI (`python -m agent route`, `route suggest`) and the bench
(bench/router_eval.py) match a sentence the same way, training file included.

A node with a training file embeds ~570 more sentences and trains its classifier on them
(seconds, not the tenth of a second of the routes file alone), so `trained_matcher` keeps
such a matcher for the whole process, keyed by the files' paths and modification times and
the settings: the server builds it once (as with the ProcessCache), and a process that starts
several apps (the tests) does too. Matchers are not changed after they are built.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.nodes.params import IntentRouterParams
from agent.phrases.intent import RouteMatcher, load_encoder
from agent.phrases.training import load_training, with_training


def node_matcher(params: IntentRouterParams, active: dict, routes_file, encoder, training):
    """The node's RouteMatcher over `active` (calls pass every route of the file, and the
    router passes a hit on a route its call has off to the LLM) plus its training file, if
    any (the paraphrases of a route not in `active` are left out, as its examples are)."""
    extra = load_training(training, list(routes_file.routes)) if training is not None else None
    routes, negatives = with_training(active, routes_file.negatives, extra)
    return RouteMatcher(
        routes,
        encoder,
        params.threshold,
        negatives=negatives,
        min_probability=params.min_probability,
        ngram_weight=params.ngram_weight,
        rank_by_classifier=params.classifier_picks,
        classifier_scale=params.classifier_scale,
        negatives_guard=params.negatives_guard,
    )


_TRAINED: dict[tuple, RouteMatcher] = {}


def trained_matcher(
    params: IntentRouterParams, routes_path: Path, training: Path, active: dict,
    build: Callable[[], RouteMatcher],
) -> RouteMatcher:  # fmt: skip
    """`build()`'s matcher, built once per process for these files (as they are) and settings."""
    key = (
        str(routes_path), routes_path.stat().st_mtime_ns, str(training),
        training.stat().st_mtime_ns, params.encoder, params.threshold, params.min_probability,
        params.ngram_weight, params.classifier_picks, params.classifier_scale,
        params.negatives_guard, tuple(active),
    )  # fmt: skip
    if key not in _TRAINED:
        _TRAINED[key] = build()
    return _TRAINED[key]


def standalone_matcher(params: IntentRouterParams, resolve_path, routes_file) -> RouteMatcher:
    """The node's RouteMatcher outside a call (CLI, bench): every route, no process cache;
    `resolve_path` is the graph's (paths relative to the graph file)."""
    path = resolve_path(params.routes).resolve()
    encoder = load_encoder(params.encoder, folder=path.parent)
    training = resolve_path(params.training).resolve() if params.training is not None else None
    return node_matcher(params, routes_file.routes, routes_file, encoder, training)
