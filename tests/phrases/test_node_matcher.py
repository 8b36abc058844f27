"""agent/phrases/node_matcher.py: a node's params make the same matcher in calls, CLI and bench."""

from __future__ import annotations

import os
from pathlib import Path

from agent.nodes.params import IntentRouterParams
from agent.phrases.node_matcher import standalone_matcher, trained_matcher
from agent.phrases.routes import load_routes

ROUTES = Path(__file__).resolve().parents[2] / "audio_cache" / "routes.yaml"


def test_the_standalone_matcher_learns_the_nodes_training_file(tmp_path):
    training = tmp_path / "training.yaml"
    training.write_text(
        "match:\n  stop: [purple elephants dance on the roof]\n"
        "no_match: [my house phone is ringing off the hook]\n"
    )
    routes = load_routes(ROUTES)
    base = {"routes": str(ROUTES), "encoder": "wordllama", "threshold": 0.65}
    plain = standalone_matcher(IntentRouterParams(**base), Path, routes)
    trained = standalone_matcher(IntentRouterParams(**base, training=str(training)), Path, routes)
    sentence = "purple elephants dance on the roof"  # like no example of routes.yaml
    assert plain.match(sentence) is None
    hit = trained.match(sentence)
    assert hit.route == "stop" and hit.example == sentence


def test_a_trained_matcher_is_built_once_per_process_until_a_file_changes(tmp_path):
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.read_text())
    training = tmp_path / "training.yaml"
    training.write_text("no_match: [hello]\n")
    params = IntentRouterParams(routes=str(routes), encoder="wordllama")
    built = []

    def build():
        built.append(object())
        return built[-1]

    first = trained_matcher(params, routes, training, {"stop": None}, build)
    assert trained_matcher(params, routes, training, {"stop": None}, build) is first
    assert len(built) == 1
    training.write_text("no_match: [hello, goodbye]\n")
    os.utime(training, ns=(1, training.stat().st_mtime_ns + 10**9))
    assert trained_matcher(params, routes, training, {"stop": None}, build) is not first
    assert len(built) == 2
