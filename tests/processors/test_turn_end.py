"""processors/turn_end.py: what the words say about a turn, the speculation match rule."""

from __future__ import annotations

import pytest

from processors.turn_end import (
    SpeculationStats,
    TurnEndTiming,
    classify,
    same_words,
    words_are_stale,
)


@pytest.mark.parametrize(
    "text",
    [
        "I'm calling about",
        "I'm calling about...",
        "I'm calling about my bill from",
        "I want to book and",
        "So",
        "It's for um",
        "I'd like to book an",
        "I would like",
        "It's about my,",
        "My number is 555 01",
        "You can reach me at 415-555",
        "Well I was wondering if",
    ],
)
def test_unfinished(text):
    assert classify(text) == "unfinished"


@pytest.mark.parametrize(
    "text",
    [
        "I'm calling about my bill from March.",
        "What are your opening hours?",
        "Thank you!",
        "My number is 415 555 0123.",
        "Is that it?",
        "Thank you.",
        "Who am I talking to?",
        "What is this about?",
    ],
)
def test_complete(text):
    assert classify(text) == "complete"


@pytest.mark.parametrize(
    "text", ["I would like to book an appointment for tomorrow", "yes", "", "It's in 2026"]
)
def test_open_without_punctuation(text):
    assert classify(text) == "open"


def test_the_wait_by_class():
    timing = TurnEndTiming(complete_s=0.1, open_s=0.4, unfinished_s=1.2)
    assert timing.wait_s("Book it for tomorrow.") == 0.1
    assert timing.wait_s("Book it for tomorrow") == 0.4
    assert timing.wait_s("Book it for") == 1.2


def test_same_words_sets_aside_case_punctuation_and_spacing_only():
    assert same_words("i would like to book", "I would like to book.")
    assert same_words("whats the  price", "What's the price?")
    assert not same_words("I would like to book an", "I would like to book an appointment.")
    assert not same_words("I need 2 tickets", "I need two tickets")
    assert not same_words("", "")  # nothing speculated on nothing
    assert not same_words("book it", " ")  # the router answered: a blank transcript


def test_stats_count_waste_by_reason():
    stats = SpeculationStats()
    stats.start(), stats.start(), stats.confirm(), stats.waste("resumed")
    assert (stats.started, stats.confirmed, stats.wasted_total) == (2, 1, 1)
    with pytest.raises(ValueError, match="unknown reason"):
        stats.waste("bored")


def test_words_transcribed_before_the_speech_ended_are_stale():
    # The VAD stopped at 10.0 after 0.2 s of silence: the speech ended at 9.8.
    assert words_are_stale(9.5, 10.0, 0.2)  # an interim from while the caller spoke
    assert not words_are_stale(9.95, 10.0, 0.2)  # the STT caught up after the speech
    assert not words_are_stale(10.1, 10.0, 0.2)  # a final after the stop
    assert words_are_stale(None, 10.0, 0.2)  # no words yet
