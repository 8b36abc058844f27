"""Turn-taking analysis of an emulated call: who spoke when, and how fast the agent answered.

Pure functions over a ``CallResult`` (no I/O), used by the ``call`` CLI and the timeline page:

- ``caller_turns``: the caller's utterances, from ``say_start``/``say_end`` pairs;
- ``agent_utterances``: runs of agent audio the caller heard; runs split only by an underrun
  (a stutter) are one utterance; ``interrupted`` when a ``clear`` fell inside it;
- ``turn_latencies``: per caller turn, end of caller speech to the start of the agent's answer,
  plus barge-in (caller and agent audio overlapping) and how long until the server's ``clear``;
- ``summary``: a flat dict of the figures a person would print or compare between runs.

All times are seconds since the call was placed, like the ``CallResult`` they come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agent.sim.result import CallResult

# Float slack when comparing times computed along different paths (ticks vs. message arrival).
_EPS = 1e-6


@dataclass(frozen=True)
class CallerTurn:
    """One thing the caller said (a ``Say`` or ``BargeIn`` step)."""

    text: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class AgentUtterance:
    """A run of agent audio the caller heard; ``interrupted`` when a clear cut or hit it."""

    start: float
    end: float
    interrupted: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class TurnLatency:
    """How the agent responded to one caller turn.

    ``latency`` is ``agent_start - caller_end`` (None: no agent audio began after the caller
    finished and before the next caller turn or the end of the call). ``barge_in_at`` is when
    caller speech and agent audio first overlapped during the turn (None: no overlap), and
    ``barge_in_to_clear`` the time from then to the first ``clear`` before the next turn.
    """

    index: int
    text: str
    caller_start: float
    caller_end: float
    agent_start: float | None
    latency: float | None
    barge_in_at: float | None = None
    barge_in_to_clear: float | None = None

    @property
    def answered(self) -> bool:
        return self.latency is not None

    @property
    def barge_in(self) -> bool:
        return self.barge_in_at is not None


def call_end(result: CallResult) -> float:
    """When the call ended: its duration, or the last thing recorded if that is later."""
    times = [result.duration_s]
    times += [e[1] for e in result.timeline]
    times += [end for _, end in result.agent_speech_segments]
    return max(times)


def caller_turns(result: CallResult) -> list[CallerTurn]:
    """The caller's utterances in order; one cut off by the hang-up ends at the call's end."""
    starts = result.events("say_start")
    ends = result.events("say_end")
    # Utterances are played one after another from a queue, so the n-th end closes the n-th start.
    turns = []
    for i, (_, start, text) in enumerate(starts):
        end = ends[i][1] if i < len(ends) else call_end(result)
        turns.append(CallerTurn(text, start, end))
    return turns


def _heard_segments(result: CallResult) -> list[tuple[float, float]]:
    """Runs of heard agent audio; from ``playback_start``/``stop`` events if segments are absent."""
    if result.agent_speech_segments:
        return sorted(result.agent_speech_segments)
    segments, start = [], None
    for event in result.events("playback_start", "playback_stop"):
        if event[0] == "playback_start":
            start = event[1]
        elif start is not None:
            segments.append((start, event[1]))
            start = None
    if start is not None:  # still playing when the record ends
        segments.append((start, call_end(result)))
    return segments


def _merge_stutters(
    segments: list[tuple[float, float]], underruns: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Join runs separated by an underrun: the utterance went on after the stutter."""
    stutter_starts = [t for t, _ in underruns]
    merged: list[tuple[float, float]] = []
    for start, end in segments:
        if merged and any(abs(t - merged[-1][1]) <= 1e-3 for t in stutter_starts):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def agent_utterances(result: CallResult) -> list[AgentUtterance]:
    """Agent utterances as heard; a clear between start and end (the frame in flight plays on
    after a clear, so a cut run ends just after it) marks the utterance ``interrupted``."""
    runs = _merge_stutters(_heard_segments(result), result.underruns)
    clears = _clear_times(result)
    return [
        AgentUtterance(start, end, any(start - _EPS <= c <= end + _EPS for c in clears))
        for start, end in runs
    ]


def _clear_times(result: CallResult) -> list[float]:
    return sorted(result.clears or [e[1] for e in result.events("clear")])


def _first_overlap(turn: CallerTurn, utterances: list[AgentUtterance]) -> float | None:
    """When caller speech and agent audio first overlapped during ``turn`` (None: never)."""
    for u in utterances:
        if u.start < turn.end - _EPS and u.end > turn.start + _EPS:
            return max(u.start, turn.start)
    return None


def turn_latencies(result: CallResult) -> list[TurnLatency]:
    """For each caller turn: the agent's response time and any barge-in (see ``TurnLatency``)."""
    turns = caller_turns(result)
    utterances = agent_utterances(result)
    clears = _clear_times(result)
    end_of_call = call_end(result)
    out = []
    for i, turn in enumerate(turns):
        # The answer must begin before the caller's next turn, else it answers that one.
        horizon = turns[i + 1].start if i + 1 < len(turns) else end_of_call + _EPS
        answer = next((u.start for u in utterances if turn.end - _EPS <= u.start < horizon), None)
        barge_at = _first_overlap(turn, utterances)
        clear_at = None
        if barge_at is not None:
            clear_at = next((c for c in clears if barge_at - _EPS <= c < horizon), None)
        out.append(
            TurnLatency(
                index=i,
                text=turn.text,
                caller_start=turn.start,
                caller_end=turn.end,
                agent_start=answer,
                latency=None if answer is None else max(answer - turn.end, 0.0),
                barge_in_at=barge_at,
                barge_in_to_clear=None if clear_at is None else clear_at - barge_at,
            )
        )
    return out


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, like numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(result: CallResult) -> dict[str, float | int | str | None]:
    """The call's headline figures; latency figures are None when no turn was answered."""
    turns = turn_latencies(result)
    latencies = [t.latency for t in turns if t.latency is not None]
    utterances = agent_utterances(result)
    unplayed = [e for e in result.events("mark_echo") if len(e) > 3 and not e[3]]
    return {
        "duration_s": round(result.duration_s, 3),
        "turns": len(turns),
        "answered": len(latencies),
        "unanswered": len(turns) - len(latencies),
        "latency_p50_s": _rounded(percentile(latencies, 50)),
        "latency_p95_s": _rounded(percentile(latencies, 95)),
        "latency_max_s": _rounded(max(latencies, default=None)),
        "first_agent_audio_s": _rounded(result.first_agent_audio_t()),
        "agent_utterances": len(utterances),
        "interrupted_utterances": sum(u.interrupted for u in utterances),
        "barge_ins": sum(t.barge_in for t in turns),
        "clears": len(_clear_times(result)),
        "underruns": len(result.underruns),
        "underrun_ms_total": round(sum(gap for _, gap in result.underruns), 1),
        "marks_sent": len(result.marks_received),
        "marks_echoed": len(result.marks_echoed),
        "marks_unplayed": len(unplayed),
        "closed_by": result.closed_by,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
