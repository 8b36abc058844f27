"""agent/phrases/training.py: a training file adds paraphrases and near misses to a router."""

from __future__ import annotations

import pytest

from agent.phrases.routes import Route, RoutesError
from agent.phrases.training import load_training, with_training

ROUTES = {
    "pricing": Route(say="Twenty dollars.", examples=["how much is it"]),
    "stop": Route(say="Done.", examples=["stop calling me"]),
}


def test_training_paraphrases_become_examples_and_near_misses_negatives(tmp_path):
    path = tmp_path / "training.yaml"
    path.write_text(
        "match:\n  pricing: [what's this gonna run me]\n  human: [get me a person]\n"
        "no_match: [call me back later]\n"
    )
    training = load_training(path, ["pricing", "stop", "human"])
    routes, negatives = with_training(ROUTES, ["where are you"], training)
    assert routes["pricing"].examples == ["how much is it", "what's this gonna run me"]
    assert routes["stop"].examples == ["stop calling me"]
    assert "human" not in routes  # an inactive route stays out, as its examples do
    assert negatives == ["where are you", "call me back later"]
    assert ROUTES["pricing"].examples == ["how much is it"]  # the routes file is untouched


def test_without_training_the_routes_are_as_they_were():
    routes, negatives = with_training(ROUTES, ["where are you"], None)
    assert routes == ROUTES and negatives == ["where are you"]


def test_a_training_file_naming_no_route_of_the_file_is_refused(tmp_path):
    path = tmp_path / "training.yaml"
    path.write_text("match:\n  pricnig: [how much]\n")
    with pytest.raises(RoutesError, match="no such route: pricnig"):
        load_training(path, ["pricing"])
    path.write_text("matches: {}\n")
    with pytest.raises(RoutesError, match="not a training file"):
        load_training(path, ["pricing"])
    with pytest.raises(RoutesError, match="not a training file"):
        load_training(tmp_path / "absent.yaml", ["pricing"])


def test_the_shipped_training_file_is_the_development_sets():
    # bench/router_training.py writes it; the held-out set of the round is never in it.
    from agent.phrases.routes import load_routes
    from bench.router_training import OUT, gathered

    routes = load_routes(OUT.parent / "routes.yaml")
    training = load_training(OUT, list(routes.routes))
    assert training.model_dump() == gathered()
