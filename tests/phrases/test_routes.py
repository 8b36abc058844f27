"""agent/phrases/routes.py: the routes file's format and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.phrases.routes import RoutesError, load_routes

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_routes_file():
    routes = load_routes(ROOT / "audio_cache" / "routes.yaml")
    assert list(routes.routes) == ["pricing", "who_are_you", "stop", "human", "message"]
    assert routes.routes["stop"].action == "do_not_call"  # "we won't call you again": true
    assert (routes.routes["human"].action, routes.routes["human"].destination) == (
        "transfer",
        "front_desk",
    )
    assert routes.routes["pricing"].action == "offer_message"  # "someone to call you": true
    assert routes.routes["message"].action == "take_message"
    assert set(routes.phrases) == {
        "greeting",
        "idle_prompt",
        "goodbye",
        "fallback",
        "trouble_goodbye",
        "transfer_failed",
        "after_hours",
        "recording_notice",
        "hold_phrase",
        "hold_connected",
        "warm_ask",
        "warm_declined",
        "warm_caller_left",
    }
    # What a failed turn or a lost call says plays from the cache: no TTS needed then.
    from agent.graph.model import CallSettings

    defaults = CallSettings()
    assert routes.phrases["fallback"] == defaults.fallback
    assert routes.phrases["trouble_goodbye"] == defaults.trouble_goodbye
    assert routes.phrases["transfer_failed"] == defaults.transfer_failed
    assert routes.phrases["hold_phrase"] == defaults.hold_phrase
    assert routes.phrases["hold_connected"] == defaults.hold_connected
    assert routes.routes["human"].say == defaults.transfer_phrase
    assert routes.phrases["recording_notice"] == defaults.recording_notice
    assert list(routes.all_phrases())[:3] == ["pricing", "who_are_you", "stop"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routes: {a: {say: hi}}", "routes.a.examples: Field required"),
        (
            "routes: {a: {say: hi, examples: [x], action: dance}}",
            "routes.a.action: Input should be",
        ),
        ("routes: {a: {say: hi, examples: [x], threshold: 2}}", "routes.a.threshold"),
        ("routes: {a: {say: hi, examples: [' ']}}", "examples must not be blank"),
        ("routes: {A: {say: hi, examples: [x]}}", "name 'A' must be lower_snake_case"),
        ("routes: {a: {say: hi, examples: [x]}}\nphrases: {a: hello}", "a: used both"),
        ("rutes: {}", "rutes: Extra inputs are not permitted"),
        ("routes: [", "invalid YAML"),
    ],
)
def test_errors_name_the_file_and_the_place(tmp_path, text, message):
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    with pytest.raises(RoutesError) as info:
        load_routes(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(RoutesError, match="cannot read the routes file"):
        load_routes(tmp_path / "nope.yaml")
