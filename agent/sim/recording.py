"""A call as a stereo WAV on the call's own clock: the caller on the left, the agent on the right.

What the caller said (`CallResult.said`) and what they heard (`CallResult.heard_runs()`) are
placed at the times they happened, silence in between, so playing the file is listening to
the call as it went: pauses, latency and barge-ins included.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from agent.audio import SAMPLE_RATE, decode
from agent.sim.result import CallResult


def _place(track: np.ndarray, t: float, ulaw: bytes) -> None:
    start = max(0, round(t * SAMPLE_RATE))
    pcm = decode(ulaw)[: max(0, len(track) - start)]
    track[start : start + len(pcm)] = pcm


def call_tracks(result: CallResult) -> tuple[np.ndarray, np.ndarray]:
    """(caller, agent) int16 tracks, each as long as the call."""
    end = max(
        [result.duration_s]
        + [t + len(a) / SAMPLE_RATE for t, a in result.said]
        + [e for _, e in result.agent_speech_segments]
    )
    n = round(end * SAMPLE_RATE) + 1
    caller, agent = np.zeros(n, dtype=np.int16), np.zeros(n, dtype=np.int16)
    for t, audio in result.said:
        _place(caller, t, audio)
    for start, _end, audio in result.heard_runs():
        _place(agent, start, audio)
    return caller, agent


def write_call_wav(result: CallResult, path: str | Path) -> float:
    """Write the stereo WAV (16-bit, 8 kHz); returns its length in seconds."""
    caller, agent = call_tracks(result)
    frames = np.empty(len(caller) * 2, dtype="<i2")
    frames[0::2], frames[1::2] = caller, agent
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames.tobytes())
    return len(caller) / SAMPLE_RATE
