"""bench/report.py: the scale table's goals column, judged and explained from a run's rows."""

from __future__ import annotations

from types import SimpleNamespace

from bench.report import goal_causes, goals_cell, observations

CALL_MIN = 60.0  # call seconds per minute: cpu_s_per_call_min = server_cpu_s * 60 / call_seconds


def row(side: str, calls: int, **over) -> SimpleNamespace:
    """A LevelResult's fields the goals read: a healthy, quiet level by default."""
    fields = dict(
        side=side,
        calls=calls,
        ok=calls,
        underruns=0,
        turn_p95_s=0.90,
        send_lateness_p99_ms=1.0 if side == "ours" else None,
        jitter_p99_ms=2.0,
        rss_per_call_mb=1.0,
        cpu_s_per_call_min=0.5 if side == "ours" else 1.5,
        server_cpu_s=10.0,
        wall_s=60.0,
        server_lag_p99_ms=2.0,
        stt_share=1.0,
        other_cpu_s=0.0,
        speed_ms=(40.0, 41.0),
        loop_lag_p99_ms=5.0,
        # what only the observations under the tables read
        llm_answers=calls,
        calls_with_underruns=0,
        max_buffer_max_s=0.46,
        barge_silence_p50_s=0.32,
        call_seconds=calls * 12.0,
    )
    fields.update(over)
    return SimpleNamespace(**fields)


def test_a_level_meeting_every_goal_says_met():
    results = [row("ours", 1), row("reference", 1), row("ours", 50), row("reference", 50)]
    assert [goals_cell(r, results) for r in results[::2]] == ["met", "met"]


def at_100_calls(side: str, ref_cpu_s_per_call_min: float, **measured) -> tuple[str, str]:
    """The goals cell of a 100-call row of `side`, beside our 1-call row and a reference that
    failed all 100 calls, split into what was missed and why."""
    level = row(side, 100, **measured)
    ref = row("reference", 100, ok=0, cpu_s_per_call_min=ref_cpu_s_per_call_min)
    missed, why = goals_cell(level, [row("ours", 1), level, ref]).split(". Why: ")
    return missed, why


def test_a_saturated_level_says_what_it_missed_and_why():
    missed, why = at_100_calls(
        "ours",
        0.79,
        turn_p95_s=1.63,
        send_lateness_p99_ms=46.0,
        cpu_s_per_call_min=0.57,
        server_cpu_s=50.0,  # 83% of a core
        server_lag_p99_ms=61.4,
    )
    assert missed == (
        "not met: p95 1.63 s > 0.99 s (1 call +10%); pacer send jitter p99 46.0 ms;"
        " CPU 72% of the reference's"
    )
    assert why.split("; ") == [
        "the server used 83% of a core, and its one event loop (every call's) woke 61 ms"
        " late at p99",
        "the reference failed 100 of 100 calls: its CPU per call-minute leaves out the work"
        " those calls never got",
    ]


def test_causes_name_only_what_the_row_measured():
    # A loop lagging on an idle server is not saturation; a CPU goal met needs no excuse.
    lagging_but_idle = row("ours", 10, server_lag_p99_ms=80.0, server_cpu_s=6.0)
    ref_failing = row("reference", 10, ok=3)
    assert goal_causes(lagging_but_idle, [lagging_but_idle, ref_failing]) == []

    shared = row(
        "reference",
        30,
        stt_share=0.86,
        other_cpu_s=15.0,
        speed_ms=(45.0, 72.0),
        loop_lag_p99_ms=66.0,
    )
    assert goal_causes(shared, [shared]) == [
        "its input fell behind: 86% of caller audio reached the STT",
        "other processes used 25% of a core",
        "the machine ran slow (speed 72 ms)",
        "the emulator's own loop lagged 66 ms at p99",
    ]


def test_a_missed_goal_without_a_measured_cause_gives_no_why():
    one = row("reference", 1, rss_per_call_mb=30.3)
    assert goals_cell(one, [one]) == "not met: RSS 30.3 MB/call"


def test_our_server_as_two_processes_is_judged_against_our_one_call_figure():
    missed, why = at_100_calls(
        "ours ×2",
        0.89,
        processes=2,
        turn_p95_s=1.57,
        send_lateness_p99_ms=31.7,
        server_cpu_s=96.0,  # 80% of a core each
        server_lag_p99_ms=34.4,
        cpu_s_per_call_min=0.72,
    )
    assert missed == (
        "not met: p95 1.57 s > 0.99 s (1 call +10%); pacer send jitter p99 31.7 ms;"
        " CPU 81% of the reference's"
    )
    assert why.startswith(
        "each of its 2 processes used ~80% of a core, and their event loops woke 34 ms late"
    )


def test_the_observations_name_the_same_causes_as_the_goals_column():
    busy = row("ours", 100, server_cpu_s=50.0, server_lag_p99_ms=61.4, ok=97)
    results = [row("ours", 1), busy]
    cause = (
        "the server used 83% of a core, and its one event loop (every call's) woke 61 ms"
        " late at p99"
    )
    assert f"ours at 100 calls: {cause}; 3 call(s) failed." in observations(results)
    assert goals_cell(busy, results).endswith(f". Why: {cause}")
