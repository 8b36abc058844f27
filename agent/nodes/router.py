"""Builder of `intent_router`: processors.router.IntentRouter over the routes file's cache.

Everything heavy is done once per process and kept in `ctx.shared` (the server's warm-up
build does it before the first call): the routes file is read, the encoder loaded (WordLlama:
~0.45 s; MiniLM ~0.8 s), the examples embedded (and the classifier trained), and every fresh phrase of the cache read into memory as PCM.
Building the node for a call then only creates the processor: no file read, no model load.

The cached phrases are valid for the graph's TTS voice (or their source WAVs; see
agent/phrases/cache.py); `phrase_book_of(graph_build)` hands the same phrases to the call
controller, so a greeting or goodbye with a cached text is played from the cache too.
"""

from __future__ import annotations

from loguru import logger

from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import IntentRouterParams
from agent.phrases.cache import PhraseBook, shared_phrase_book, shared_routes, voice_of_graph
from agent.phrases.intent import load_encoder, shared_matcher
from agent.phrases.node_matcher import node_matcher, trained_matcher
from processors.router import IntentRouter


def build_router(params: IntentRouterParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    path = ctx.resolve_path(params.routes).resolve()
    routes = shared_routes(ctx.shared, path)
    active = active_routes(routes.routes, ctx.graph, ctx.call.line.open)
    phrases = shared_phrase_book(ctx.shared, path, voice_of_graph(ctx.graph, ctx.config))
    if not ctx.config.router_enabled:
        # ROUTER_ENABLED=false: every turn goes to the LLM; the cached phrases still serve
        # the call controller (greeting, goodbye). No encoder is loaded.
        ctx.shared.get_or_create(("intent_router", "off", node_name), lambda: _log_off(node_name))
        return NodeBuild(processors=[IntentRouter(None, active, phrases, name=node_name)])
    encoder = load_encoder(params.encoder, ctx.shared, folder=path.parent)
    training = ctx.resolve_path(params.training).resolve() if params.training is not None else None
    matcher = shared_matcher(
        ctx.shared,
        (
            str(path),
            params.encoder,
            params.threshold,
            params.min_probability,
            params.ngram_weight,
            params.classifier_picks,
            params.classifier_scale,
            params.negatives_guard,
            str(training),
        ),
        # Over every route: one matcher per file and settings, whichever routes this call
        # has on (a transfer route is off without its number or after hours). The router
        # passes a turn whose route is off to the LLM. A trained matcher takes seconds to
        # build; built per set of active routes, a scenario with another TRANSFER_NUMBER
        # built it again mid-call, on the event loop every call shares.
        lambda: _built(params, path, routes.routes, routes, encoder, training),
    )
    return NodeBuild(processors=[IntentRouter(matcher, active, phrases, name=node_name)])


def _built(params, path, active, routes, encoder, training):
    def build():
        return node_matcher(params, active, routes, encoder, training)

    if training is None:
        return build()
    return trained_matcher(params, path, training, active, build)  # seconds: once per process


def _log_off(node_name: str) -> bool:
    logger.info(f"{node_name}: routing off (ROUTER_ENABLED=false): every turn goes to the LLM")
    return True


def active_routes(routes: dict, graph, line_open: bool = True) -> dict:
    """The routes this graph answers: a `transfer` route only while its destination is set
    (TRANSFER_NUMBER unset: "can I talk to a person" goes to the LLM like any question)
    and the line is open (agent/graph/hours.py: no transfers after hours)."""
    return {
        name: route
        for name, route in routes.items()
        if route.action != "transfer"
        or (line_open and graph.transfer_destination(route.destination))
    }


def phrase_book_of(graph_build) -> PhraseBook | None:
    """The cached phrases of the graph's first intent_router node, if it has one."""
    for built in graph_build.nodes.values():
        for processor in built.processors:
            if isinstance(processor, IntentRouter):
                return processor.phrases
    return None
