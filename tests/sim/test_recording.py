"""agent/sim/recording.py and CallResult.heard_runs: the call on its own clock, in stereo."""

from __future__ import annotations

import wave

import numpy as np

from agent.audio import decode
from agent.sim.recording import call_tracks, write_call_wav
from agent.sim.result import CallResult


def result_with(said, runs, duration) -> CallResult:
    r = CallResult("CA1", "MZ1", "AC1", "wss://x/ws", {})
    r.said = said
    r.agent_speech_segments = [(start, start + len(audio) / 8000) for start, audio in runs]
    r.heard = b"".join(audio for _, audio in runs)
    r.duration_s = duration
    return r


def test_heard_runs_split_the_heard_audio_back_into_its_runs():
    runs = [(0.5, b"\x10" * 800), (2.0, b"\x20" * 1600)]
    r = result_with([], runs, 3.0)
    assert [(round(s, 3), a) for s, _, a in r.heard_runs()] == [
        (0.5, runs[0][1]),
        (2.0, runs[1][1]),
    ]


def test_each_side_is_placed_at_its_own_time(tmp_path):
    caller_audio, agent_audio = b"\x05" * 400, b"\x55" * 800
    r = result_with([(1.0, caller_audio)], [(0.25, agent_audio)], 2.0)
    caller, agent = call_tracks(r)
    assert len(caller) == len(agent) >= 16000
    assert np.array_equal(caller[8000:8400], decode(caller_audio)) and not caller[:8000].any()
    assert np.array_equal(agent[2000:2800], decode(agent_audio)) and not agent[2800:].any()
    path = tmp_path / "call.wav"
    seconds = write_call_wav(r, path)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert abs(seconds - len(caller) / 8000) < 1e-9
    assert np.array_equal(frames[0::2], caller) and np.array_equal(frames[1::2], agent)
