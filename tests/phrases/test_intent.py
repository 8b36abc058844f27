"""agent/phrases/intent.py: scores, thresholds, near misses, normalisation, the WordLlama encoder."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from agent.graph.build import ProcessCache
from agent.nodes.params import ROUTER_ENCODERS
from agent.phrases.intent import ENCODERS, RouteMatcher, load_encoder, normalise
from agent.phrases.routes import Route, load_routes

ROOT = Path(__file__).resolve().parents[2]
SHARED = ProcessCache()


class BagOfWords:
    """A toy encoder: one dimension per known word, so scores are easy to reason about."""

    name = "bag"
    VOCAB = ["price", "cost", "much", "who", "you", "stop", "call", "back"]

    def embed(self, texts):
        rows = np.array([[t.split().count(w) for w in self.VOCAB] for t in texts], float)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return (rows / np.where(norms == 0, 1, norms)).astype(np.float32)


ROUTES = {
    "pricing": Route(examples=["price", "how much cost"], say="Cheap."),
    "stop": Route(
        examples=["stop call"], not_examples=["call back"], say="Bye.", action="hang_up",
        threshold=0.9,
    ),
}  # fmt: skip


def test_scores_are_best_example_similarities_best_first():
    matcher = RouteMatcher(ROUTES, BagOfWords(), threshold=0.5)
    ranked = matcher.scores("The PRICE?")
    assert [s.route for s in ranked] == ["pricing", "stop"]
    assert ranked[0].score == pytest.approx(1.0) and ranked[0].example == "price"
    assert matcher.match("price").route == "pricing"
    assert matcher.match("who are you") is None  # nothing in common: 0
    assert matcher.scores("") == matcher.scores("?!")


def test_route_threshold_and_near_misses():
    matcher = RouteMatcher(ROUTES, BagOfWords(), threshold=0.5)
    assert matcher.match("stop call").route == "stop"
    low = matcher.scores("stop call price")[0]  # 0.816 for stop: under its own 0.9
    assert low.route == "stop" and low.threshold == 0.9 and not low.passes
    assert matcher.match("stop call price") is None
    # as close to a near miss as to the example: not this route
    near = next(s for s in matcher.scores("call back") if s.route == "stop")
    assert near.guard == pytest.approx(1.0) and near.near_miss == "call back" and not near.passes


def test_normalise():
    assert normalise("  How MUCH, is it?!  ") == "how much is it"
    assert normalise("What's the price?") == "what's the price"


def test_encoder_names_match_the_params():
    assert {p for name in ROUTER_ENCODERS for p in name.split("+")} == set(ENCODERS)
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder("bert")
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder("minilm+bert")


def test_two_encoders_side_by_side_average_their_similarities():
    both = load_encoder("minilm+wordllama", SHARED)
    assert both.name == "minilm+wordllama"
    minilm, wordllama = both.encoders
    assert minilm is load_encoder("minilm", SHARED)  # each part is shared as itself
    assert wordllama is load_encoder("wordllama", SHARED)
    texts = ["how much is it", "what's the damage"]
    vectors = both.embed(texts)
    assert vectors.shape == (2, 384 + 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    a, b = minilm.embed(texts), wordllama.embed(texts)
    mean = (float(a[0] @ a[1]) + float(b[0] @ b[1])) / 2
    assert float(vectors[0] @ vectors[1]) == pytest.approx(mean, abs=1e-5)


def test_wordllama_loads_offline_once_fast_and_leaves_logging_alone():
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    encoder = load_encoder("wordllama", SHARED)
    assert load_encoder("wordllama", SHARED) is encoder
    assert (list(root.handlers), root.level) == before
    vectors = encoder.embed(["how much does it cost", "what are your prices"])
    assert vectors.shape == (2, 256) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    encoder.embed(["warm"])
    started = time.perf_counter()
    for _ in range(100):
        encoder.embed(["could you tell me how much your service costs per month"])
    assert (time.perf_counter() - started) / 100 < 0.002  # ~0.05 ms: fine on the event loop


def test_shipped_routes_answer_the_obvious_and_leave_the_rest():
    routes = load_routes(ROOT / "audio_cache" / "routes.yaml")
    matcher = RouteMatcher(routes.routes, load_encoder("wordllama", SHARED), threshold=0.65)
    assert matcher.match("How much does it cost?").route == "pricing"
    assert matcher.match("Who am I speaking with?").route == "who_are_you"
    assert matcher.match("Stop calling me!").route == "stop"
    assert matcher.match("Can I leave a message?").route == "message"
    assert matcher.match("Can you call me back later?").route == "message"  # not "stop"
    for text in [
        "Did anyone leave a message for me?",
        "Wait, stop.",
        "Goodbye.",
        "What are your opening hours?",
    ]:
        assert matcher.match(text) is None, text
