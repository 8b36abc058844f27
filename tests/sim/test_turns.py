"""agent.sim.turns on hand-built CallResults: turns, utterances, latencies, barge-ins, summary.

``make_call`` builds a CallResult the way the emulator records one (the timeline sorted by
time, playback events matching the heard segments); test_timeline reuses it.
"""

from __future__ import annotations

import numpy as np
import pytest

from agent.sim.result import CallResult
from agent.sim.turns import (
    AgentUtterance,
    CallerTurn,
    agent_utterances,
    caller_turns,
    percentile,
    summary,
    turn_latencies,
)


def make_call(
    *,
    says: list[tuple[str, float, float | None]] = (),
    segments: list[tuple[float, float]] = (),
    clears: list[float] = (),
    underruns: list[tuple[float, float]] = (),
    marks: list[tuple[str, float, float, bool]] = (),
    extra: list[tuple] = (),
    duration: float = 20.0,
    closed_by: str = "caller",
) -> CallResult:
    """A CallResult: ``says`` are (text, start, end or None if cut off by the hang-up),
    ``marks`` are (name, sent at, echoed at, played)."""
    r = CallResult("CA1", "MZ1", "AC1", "wss://example.test/ws", {"graph": "receptionist"})
    tl = r.timeline
    for text, start, end in says:
        tl.append(("say_start", start, text))
        if end is not None:
            tl.append(("say_end", end, text))
    for start, end in segments:
        tl += [("playback_start", start), ("playback_stop", end)]
    tl += [("clear", t) for t in clears]
    for name, sent, echoed, played in marks:
        tl += [("mark_in", sent, name), ("mark_echo", echoed, name, played)]
        r.marks_received.append(name)
        r.marks_echoed.append(name)
    tl += list(extra)
    tl.append(("closed", duration, closed_by, 1000))
    tl.sort(key=lambda e: e[1])
    r.agent_speech_segments = list(segments)
    r.clears = list(clears)
    r.underruns = list(underruns)
    r.duration_s = duration
    r.closed_by = closed_by
    r.close_code = 1000
    return r


def three_turn_call() -> CallResult:
    """Greeting, then three questions each answered in full."""
    return make_call(
        says=[("how much is it", 3.6, 4.95), ("and on weekends", 9.6, 10.4), ("bye", 13.0, 13.5)],
        segments=[(0.8, 3.0), (5.67, 9.1), (10.9, 12.4), (14.6, 15.5)],
        marks=[("m0", 0.7, 3.0, True), ("m1", 5.7, 9.1, True), ("m2", 11.0, 12.4, True)],
        duration=16.0,
    )


def barge_in_call() -> CallResult:
    """The caller talks over a long answer at 7.0 s; the server clears 0.35 s later."""
    return make_call(
        says=[("what are your hours", 3.0, 4.5), ("wait stop", 7.0, 7.8)],
        segments=[(0.5, 2.5), (5.2, 7.37), (8.4, 9.6)],
        clears=[7.35],
        marks=[("m1", 5.3, 7.35, False)],
        duration=11.0,
    )


def underrun_call() -> CallResult:
    """The answer stutters twice (three runs, one utterance); the next turn gets no answer."""
    return make_call(
        says=[("how much does it cost", 1.0, 2.0), ("hello?", 8.0, 8.6)],
        segments=[(2.8, 3.5), (3.62, 4.4), (4.65, 6.0)],
        underruns=[(3.5, 120.0), (4.4, 250.0)],
        duration=10.0,
    )


# -- caller turns ---------------------------------------------------------------------------


def test_caller_turns_pair_starts_with_ends_in_order():
    turns = caller_turns(three_turn_call())
    assert turns == [
        CallerTurn("how much is it", 3.6, 4.95),
        CallerTurn("and on weekends", 9.6, 10.4),
        CallerTurn("bye", 13.0, 13.5),
    ]
    assert turns[0].duration == pytest.approx(1.35)


def test_caller_turn_cut_off_by_the_hang_up_ends_with_the_call():
    r = make_call(says=[("hello", 1.0, 2.0), ("are you th", 5.0, None)], duration=6.5)
    assert caller_turns(r)[-1] == CallerTurn("are you th", 5.0, 6.5)


def test_no_caller_speech_means_no_turns():
    r = make_call(segments=[(0.5, 2.0)], duration=3.0)
    assert caller_turns(r) == []
    assert turn_latencies(r) == []


# -- agent utterances -----------------------------------------------------------------------


def test_utterances_of_a_normal_call_are_not_interrupted():
    utterances = agent_utterances(three_turn_call())
    assert [(u.start, u.end) for u in utterances] == [
        (0.8, 3.0),
        (5.67, 9.1),
        (10.9, 12.4),
        (14.6, 15.5),
    ]
    assert not any(u.interrupted for u in utterances)


def test_a_clear_marks_only_the_utterance_it_cut():
    utterances = agent_utterances(barge_in_call())
    assert [u.interrupted for u in utterances] == [False, True, False]
    # The frame in flight plays on after the clear: the run ends just after it.
    assert utterances[1] == AgentUtterance(5.2, 7.37, interrupted=True)


def test_a_clear_between_utterances_interrupts_nothing():
    r = make_call(says=[("hi", 3.0, 3.5)], segments=[(0.5, 2.0), (4.0, 5.0)], clears=[3.1])
    assert [u.interrupted for u in agent_utterances(r)] == [False, False]


def test_runs_split_by_an_underrun_are_one_utterance():
    utterances = agent_utterances(underrun_call())
    assert utterances == [AgentUtterance(2.8, 6.0, interrupted=False)]


def test_a_long_pause_without_underrun_keeps_utterances_apart():
    r = make_call(segments=[(1.0, 2.0), (2.9, 4.0)], duration=5.0)
    assert len(agent_utterances(r)) == 2


def test_utterances_fall_back_to_playback_events():
    r = make_call(duration=6.0, extra=[("playback_start", 1.0), ("playback_stop", 2.5)])
    r.timeline.append(("playback_start", 4.0))  # still playing when the record ends
    assert r.agent_speech_segments == []
    assert agent_utterances(r) == [AgentUtterance(1.0, 2.5), AgentUtterance(4.0, 6.0)]


# -- turn latencies -------------------------------------------------------------------------


def test_latency_is_caller_end_to_the_next_agent_audio():
    turns = turn_latencies(three_turn_call())
    assert [t.latency for t in turns] == pytest.approx([0.72, 0.5, 1.1])
    assert [t.agent_start for t in turns] == [5.67, 10.9, 14.6]
    assert all(t.answered and not t.barge_in for t in turns)
    assert [t.index for t in turns] == [0, 1, 2]


def test_barge_in_reports_time_to_clear_and_the_next_answer():
    first, barge = turn_latencies(barge_in_call())
    assert first.latency == pytest.approx(0.7) and not first.barge_in
    assert barge.barge_in and barge.barge_in_at == 7.0
    assert barge.barge_in_to_clear == pytest.approx(0.35)
    # The interrupted answer began before the caller finished: the answer is the next one.
    assert barge.agent_start == 8.4
    assert barge.latency == pytest.approx(0.6)


def test_barge_in_without_a_clear_has_no_clear_time():
    r = make_call(says=[("hm", 2.0, 2.4)], segments=[(1.0, 5.0)], duration=6.0)
    (turn,) = turn_latencies(r)
    assert turn.barge_in and turn.barge_in_at == 2.0
    assert turn.barge_in_to_clear is None
    assert turn.latency is None  # nothing started after the caller stopped


def test_agent_starting_over_the_caller_counts_from_the_overlap():
    r = make_call(
        says=[("i would like to book", 1.0, 3.0)], segments=[(2.2, 2.6), (3.5, 4.0)], clears=[2.5]
    )
    (turn,) = turn_latencies(r)
    assert turn.barge_in_at == 2.2
    assert turn.barge_in_to_clear == pytest.approx(0.3)
    assert turn.latency == pytest.approx(0.5)


def test_turn_unanswered_before_the_next_turn_or_the_end_of_the_call():
    turns = turn_latencies(underrun_call())
    assert turns[0].latency == pytest.approx(0.8)
    assert turns[1].latency is None and turns[1].agent_start is None
    assert not turns[1].answered

    # An answer that starts only after the caller spoke again belongs to the later turn.
    r = make_call(says=[("one", 1.0, 1.5), ("two", 4.0, 4.5)], segments=[(5.0, 6.0)])
    first, second = turn_latencies(r)
    assert first.latency is None
    assert second.latency == pytest.approx(0.5)


def test_resumed_audio_after_a_stutter_is_not_an_answer():
    # The caller speaks during the stutter gap; the resumed run is the same utterance.
    r = make_call(
        says=[("uh", 3.52, 3.6)], segments=[(2.8, 3.5), (3.62, 4.4)], underruns=[(3.5, 120.0)]
    )
    (turn,) = turn_latencies(r)
    assert turn.latency is None
    assert turn.barge_in  # the agent was mid-utterance


# -- summary ---------------------------------------------------------------------------------


def test_percentile_matches_numpy():
    values = [0.72, 0.5, 1.1, 0.31, 2.4]
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert percentile([0.4], 95) == 0.4
    assert percentile([], 50) is None


def test_summary_of_a_normal_call():
    s = summary(three_turn_call())
    assert s["turns"] == 3 and s["answered"] == 3 and s["unanswered"] == 0
    assert s["latency_p50_s"] == pytest.approx(0.72)
    assert s["latency_p95_s"] == pytest.approx(np.percentile([0.72, 0.5, 1.1], 95), abs=1e-3)
    assert s["latency_max_s"] == pytest.approx(1.1)
    assert s["clears"] == 0 and s["underruns"] == 0
    assert s["marks_echoed"] == 3 and s["marks_unplayed"] == 0
    assert s["duration_s"] == 16.0
    assert s["first_agent_audio_s"] == 0.8
    assert s["closed_by"] == "caller"


def test_summary_counts_clears_barge_ins_underruns_and_unplayed_marks():
    s = summary(barge_in_call())
    assert s["clears"] == 1 and s["barge_ins"] == 1 and s["interrupted_utterances"] == 1
    assert s["marks_unplayed"] == 1
    u = summary(underrun_call())
    assert u["underruns"] == 2 and u["underrun_ms_total"] == 370.0
    assert u["unanswered"] == 1 and u["latency_max_s"] == pytest.approx(0.8)


def test_summary_of_a_silent_call_has_no_latencies():
    s = summary(make_call(duration=2.0))
    assert s["turns"] == 0
    assert s["latency_p50_s"] is None and s["latency_p95_s"] is None
    assert s["latency_max_s"] is None and s["first_agent_audio_s"] is None
