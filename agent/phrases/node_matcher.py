"""An intent_router node's matcher, from its params: routes, training file, encoder, settings.

One place that turns a node's params into a RouteMatcher, so the calls (agent/nodes/router.py,
inside the process cache), the CLI (`python -m agent route`, `route suggest`) and the bench
(bench/router_eval.py) match a sentence the same way, training file included.
"""

from __future__ import annotations

from agent.nodes.params import IntentRouterParams
from agent.phrases.intent import RouteMatcher, load_encoder
from agent.phrases.training import load_training, with_training


def node_matcher(params: IntentRouterParams, active: dict, routes_file, encoder, training):
    """The node's RouteMatcher, over its active routes plus its training file, if any (the
    paraphrases of an inactive route are left out, as its examples are)."""
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
    )


def standalone_matcher(params: IntentRouterParams, resolve_path, routes_file) -> RouteMatcher:
    """The node's RouteMatcher outside a call (CLI, bench): every route, no process cache;
    `resolve_path` is the graph's (paths relative to the graph file)."""
    path = resolve_path(params.routes).resolve()
    encoder = load_encoder(params.encoder, folder=path.parent)
    training = resolve_path(params.training).resolve() if params.training is not None else None
    return node_matcher(params, routes_file.routes, routes_file, encoder, training)
