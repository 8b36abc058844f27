"""Word and word-pair features (agent/phrases/ngrams.py) and the classifier picking the route."""

from __future__ import annotations

import numpy as np
import pytest

from agent.phrases.intent import RouteMatcher
from agent.phrases.ngrams import NgramFeatures, grams
from agent.phrases.routes import Route
from tests.phrases.test_intent import BagOfWords


def test_grams_are_the_words_and_their_neighbouring_pairs():
    assert grams("put me through") == ["put", "me", "through", "put me", "me through"]
    assert grams("") == []


def test_features_are_unit_length_over_the_learnt_vocabulary_only():
    features = NgramFeatures(["put me through", "are you real"])
    assert features.size == 3 + 2 + 3 + 2
    v = features.vector("put me on")  # "put", "me", "put me" known; "on", "me on" not
    assert np.count_nonzero(v) == 3
    assert float(np.linalg.norm(v)) == pytest.approx(1.0)
    assert not features.vector("hello there").any()  # nothing known: zeros, not NaN
    assert features.matrix([]).shape == (0, features.size)


# The toy encoder sees only "you" in all of these, so the embedding cannot tell the routes
# apart: only the words it does not see ("are", "put", "real", "on") can.
ROUTES = {
    "who_are_you": Route(examples=["are you real", "are you"], say="A receptionist."),
    "human": Route(examples=["put you on", "put real you on"], say="Connecting."),
}
NEGATIVES = ["thank you", "you there"]


def test_with_ngrams_the_classifier_picks_the_route_by_its_words():
    matcher = RouteMatcher(
        ROUTES,
        BagOfWords(),
        0.5,
        negatives=NEGATIVES,
        min_probability=0.6,
        ngram_weight=0.5,
        rank_by_classifier=True,
    )
    assert matcher.match("please put you on").route == "human"
    assert matcher.match("are you real").route == "who_are_you"
    assert matcher.match("thank you") is None  # a negative: class none
    best = matcher.scores("please put you on")[0]
    assert best.route == "human" and best.probability >= 0.6 and best.score >= 0.5


def test_the_classifier_picks_only_among_routes_that_pass_their_threshold():
    # "on" alone says human to the n-grams, but the embedding sees no "you": score 0.
    matcher = RouteMatcher(
        ROUTES,
        BagOfWords(),
        0.5,
        negatives=NEGATIVES,
        min_probability=0.51,
        ngram_weight=0.9,
        rank_by_classifier=True,
    )
    assert matcher.match("put on") is None


def test_sparse_rows_are_the_dense_features_times_the_weight():
    features = NgramFeatures(["put me through", "are you real", "how much is it"])
    sentences = ["put me through please", "are you", "nothing known here"]
    dense = features.matrix(sentences) * 0.3
    rows = features.rows(sentences, 0.3)
    weights = np.arange(features.size * 3, dtype=np.float32).reshape(features.size, 3) / 7
    assert np.allclose(rows.dot(weights), dense @ weights, atol=1e-5)
    grad = np.arange(9, dtype=np.float32).reshape(3, 3) - 4
    assert np.allclose(rows.tdot(grad), dense.T @ grad, atol=1e-5)
