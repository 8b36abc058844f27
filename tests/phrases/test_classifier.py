"""The route-or-none classifier (agent/phrases/classifier.py), openers, and the MiniLM encoder."""

from __future__ import annotations

import numpy as np
import pytest

from agent.phrases.classifier import NONE, RouteClassifier
from agent.phrases.intent import RouteMatcher, load_encoder, normalise, strip_openers
from agent.phrases.routes import Route
from tests.phrases.test_intent import SHARED, BagOfWords


def unit(*rows):
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_the_classifier_learns_routes_and_none():
    vectors = unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1], [0, 0, 1], [0.1, 0, 0.9])
    labels = ["a", "a", "b", "b", NONE, NONE]
    clf = RouteClassifier(["a", "b"], vectors, labels)
    assert clf.classes == ["a", "b", NONE]
    for vector, label in zip(vectors, labels, strict=True):
        probs = clf.probabilities(vector)
        assert sum(probs.values()) == pytest.approx(1.0)
        assert max(probs, key=probs.get) == label
    assert RouteClassifier(["a"], vectors[:2], ["a", "a"]).probabilities(vectors[0])["a"] > 0.5


def test_the_classifier_refuses_labels_it_has_no_class_for():
    with pytest.raises(ValueError, match="labels without a class: c"):
        RouteClassifier(["a"], unit([1, 0]), ["c"])


ROUTES = {
    "pricing": Route(examples=["how much cost", "price"], say="Cheap."),
    "stop": Route(examples=["stop call"], not_examples=["call back"], say="Bye.", action="hang_up"),
}


def test_the_classifier_gates_what_the_nearest_example_would_answer():
    # "much cost back" is close to a pricing example; the negatives teach that "back"
    # sentences belong to nobody.
    negatives = ["call back", "back back", "much back", "cost back"]
    plain = RouteMatcher(ROUTES, BagOfWords(), threshold=0.5)
    gated = RouteMatcher(
        ROUTES, BagOfWords(), threshold=0.5, negatives=negatives, min_probability=0.6
    )
    assert plain.match("much cost back").route == "pricing"
    refused = gated.scores("much cost back")[0]
    assert refused.route == "pricing" and refused.score >= 0.5 and not refused.passes
    assert refused.probability < 0.6 == refused.min_probability
    assert gated.match("much cost back") is None
    hit = gated.match("how much cost")
    assert hit.route == "pricing" and hit.probability >= 0.6
    # without a classifier every route's probability reads 1: nothing is gated
    assert plain.scores("price")[0].probability == 1.0


def test_a_not_example_that_is_another_routes_example_is_not_a_negative():
    routes = {
        "who": Route(examples=["who you"], say="Me."),
        "human": Route(examples=["call you"], not_examples=["who you"], say="Sure."),
    }
    gated = RouteMatcher(routes, BagOfWords(), threshold=0.5, min_probability=0.6)
    assert gated.match("who you").route == "who"


@pytest.mark.parametrize(
    "said,left",
    [
        ("Um, okay so, how much is it?", "how much is it"),
        ("Hi there, quick question: who are you?", "who are you"),
        ("Hold on, stop calling me.", "stop calling me"),
        ("Okay.", "okay"),  # nothing but an opener: kept whole
        ("Sorry, I think I have the wrong number.", "i think i have the wrong number"),
        ("Someone called me", "someone called me"),
    ],
)
def test_openers_are_dropped_from_the_front_only(said, left):
    assert strip_openers(normalise(said)) == left


def test_minilm_is_offline_and_puts_paraphrases_closer_than_unrelated_sentences():
    encoder = load_encoder("minilm", SHARED)
    a, b, c = encoder.embed(
        ["how much does it cost", "what is the price of your service", "stop calling me"]
    )
    assert a.shape == (384,) and np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert float(a @ b) > float(a @ c) + 0.3
    # one text at a time: a text's vector does not depend on the batch it came in
    (alone,) = encoder.embed(["what is the price of your service"])
    assert np.allclose(alone, b, atol=1e-6)


def test_minilm_gives_the_original_models_vector_within_int8_rounding():
    # The first dimensions the original fp32 all-MiniLM-L6-v2 gives this sentence, computed
    # from its safetensors by bench/minilm_reference.py (they match the values
    # sentence-transformers users see printed for it); int8 weights move them < 0.003.
    (vector,) = load_encoder("minilm", SHARED).embed(["This is an example sentence"])
    published = [0.0677, 0.0635, 0.0487, 0.0793, 0.0374]
    assert np.allclose(vector[:5], published, atol=0.003)


def test_minilm_runs_the_model_file_it_is_given(tmp_path):
    # minilm-int8 (agent/phrases/minilm_int8.py) is the same encoder over another ONNX file.
    from agent.phrases.minilm import MiniLMEncoder

    with pytest.raises(Exception, match="other.onnx"):
        MiniLMEncoder(model=tmp_path / "other.onnx")


def test_blank_negatives_are_refused():
    from agent.phrases.routes import RoutesFile

    with pytest.raises(ValueError, match="negatives must not be blank"):
        RoutesFile.model_validate({"negatives": ["hello", "  "]})


def test_with_the_guard_a_negative_closer_than_every_example_keeps_a_route_quiet():
    # "much cost back" is as near the negative "cost back" as the pricing example "how much
    # cost"; the guard turns the negatives into every route's near misses, and a route must
    # be nearer its example than any of them.
    negatives = ["cost back", "call back"]
    plain = RouteMatcher(ROUTES, BagOfWords(), threshold=0.5, negatives=negatives)
    guarded = RouteMatcher(
        ROUTES, BagOfWords(), threshold=0.5, negatives=negatives, negatives_guard=True
    )
    assert plain.match("much cost back").route == "pricing"
    refused = guarded.scores("much cost back")[0]
    assert refused.route == "pricing" and refused.near_miss == "cost back"
    assert refused.guard >= refused.score and not refused.passes
    assert guarded.match("much cost back") is None
    # words nearer an example than any negative still route
    assert guarded.match("how much cost").route == "pricing"


def test_a_higher_scale_makes_the_classifier_surer_of_what_it_learnt():
    vectors = unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1], [0, 0, 1], [0.1, 0, 0.9])
    labels = ["a", "a", "b", "b", NONE, NONE]
    soft = RouteClassifier(["a", "b"], vectors, labels, scale=10.0)
    sharp = RouteClassifier(["a", "b"], vectors, labels, scale=30.0)
    assert sharp.probabilities(vectors[1])["a"] > soft.probabilities(vectors[1])["a"] > 0.5
