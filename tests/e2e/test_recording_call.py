"""A recorded call through the Twilio emulator (RECORD_CALLS=true, the receptionist graph):
the stereo WAV the server wrote against what the emulator sent and played.

One real-time call with a barge-in proves: the recording notice is heard first; the file is
as long as the call (within a second); the left channel holds the caller's audio exactly as
the emulator sent it, where it sent it; the right channel holds the agent's audio exactly
as the emulator's playback buffer played it, where it played it, and nothing from a
barge-in's `clear` until the next reply; the record, the route (with and without the admin
token) and `calls SID --recording` all give the same file.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import wave
from pathlib import Path

import aiohttp
import numpy as np

from agent.audio import SAMPLE_RATE, decode
from agent.sim.script import BargeIn, HangUp, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import ROOT, caller_audio
from tests.e2e.test_conversation import LONG_ANSWER, QUESTION, STOPPED

TOKEN = "admin-token-for-recordings"
WINDOW = int(0.1 * SAMPLE_RATE)  # how far from its expected place audio is looked for
NOTICE = (ROOT / "audio_cache" / "recording_notice.ulaw").read_bytes()


def find(track: np.ndarray, pcm: np.ndarray, near: int) -> int | None:
    """Where `pcm` occurs exactly in `track`, within WINDOW samples of `near`."""
    for offset in sorted(range(-WINDOW, WINDOW + 1), key=abs):
        i = near + offset
        if i >= 0 and i + len(pcm) <= len(track) and np.array_equal(track[i : i + len(pcm)], pcm):
            return i
    return None


async def record_of(server, call_sid: str, timeout: float = 10.0) -> dict:
    """The call's record once its recording is finished (it closes after the socket)."""
    store = server.services.records.store
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await server.services.records.writer.flush()
        call = await store.get_call(call_sid)
        if call and call["recording"] and call["recording"]["duration_s"] is not None:
            return call
        assert loop.time() < deadline, f"no finished recording in the record: {call}"
        await asyncio.sleep(0.05)


async def test_a_recorded_call_holds_both_sides_where_they_happened(
    fakes, start_server, recordings, tmp_path
):
    folder = tmp_path / "recordings"
    server = await start_server(RECORD_CALLS="true", ADMIN_TOKEN=TOKEN, RECORDINGS_DIR=str(folder))
    fakes.deepgram.set_script([QUESTION, "wait stop"])
    fakes.groq.replies = [("hours", LONG_ANSWER), ("wait", STOPPED)]
    result = await server.emulator().place_call(
        [
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=15),  # the notice, then the greeting
            Say(caller_audio("what_are_your_opening_hours"), QUESTION),
            BargeIn(after_ms=2500, audio=caller_audio("wait_stop"), text="wait stop"),
            WaitForAgentAudio(timeout=10),
            WaitForAgentSilence(pause=0.2, timeout=10),
            HangUp(),
        ],
        max_duration=45,
    )
    assert not result.timeouts, result.timeouts
    [recording] = recordings
    sid = result.call_sid
    call = await record_of(server, sid)
    path = folder.resolve() / f"{sid}.wav"
    assert call["recording"]["path"] == str(path) and call["recording"]["deleted_at"] is None

    async with aiohttp.ClientSession(server.base_url) as http:
        async with http.get(f"/calls/{sid}/recording") as resp:
            assert resp.status == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(f"/calls/{sid}/recording", headers=auth) as resp:
            assert resp.status == 200
            body = await resp.read()
    assert body == path.read_bytes()
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        length_s = wav.getnframes() / SAMPLE_RATE
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    left, right = stereo[0::2], stereo[1::2]
    assert abs(length_s - result.duration_s) < 1.0, (length_s, result.duration_s)
    assert abs(call["recording"]["duration_s"] - length_s) < 0.01

    # Emulator time t is the recording's sample round((t0 + t - start) * 8000).
    def sample(t: float) -> int:
        return round((result.started_at + t - recording.tape.start) * SAMPLE_RATE)

    # The caller's channel: each line exactly as sent, where it was sent.
    assert len(result.said) == 2
    for t, audio in result.said:
        pcm = decode(audio)
        at = find(left, pcm, sample(t))
        assert at is not None, f"the caller's line at {t:.2f}s is not in the left channel"
        assert abs(at - sample(t)) <= 0.06 * SAMPLE_RATE

    # The agent's channel: each run the caller heard, exactly, where it played.
    runs = [run for run in result.heard_runs() if len(run[2]) >= 0.3 * SAMPLE_RATE]
    assert len(runs) >= 3  # notice + greeting, the interrupted answer, the reply
    for start, _end, audio in runs:
        pcm = decode(audio[: int(0.5 * SAMPLE_RATE)])
        at = find(right, pcm, sample(start))
        assert at is not None, f"the agent's audio heard at {start:.2f}s is not in the right"
        assert abs(at - sample(start)) <= 0.06 * SAMPLE_RATE

    # The recording notice is the first thing the agent says.
    assert result.heard.startswith(NOTICE)
    notice_at = find(right, decode(NOTICE), sample(result.heard_runs()[0][0]))
    assert notice_at is not None and not right[:notice_at].any()

    # A barge-in's clear: silence on the agent's side from the clear to the next reply.
    barge_t = next(e[1] for e in result.timeline if e[0] == "say_start" and e[2] == "wait stop")
    clear_t = next(t for t in result.clears if t > barge_t)
    resumed_t = next(e[1] for e in result.timeline if e[0] == "playback_start" and e[1] > clear_t)
    assert right[sample(clear_t - 0.3) : sample(clear_t)].any()  # it was speaking
    # (the recording starts a chunk when Twilio gets it; the emulator plays on its next 20 ms
    # tick: the reply may start up to a tick before the emulator's playback_start)
    assert not right[sample(clear_t + 0.01) : sample(resumed_t - 0.03)].any()
    assert right[sample(resumed_t - 0.03) : sample(resumed_t + 0.3)].any()
    assert resumed_t - clear_t > 0.2  # (a real gap to look at)

    # The CLI hands out the same file.
    from agent.cli.calls import _run, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers().add_parser("calls"))
    out = tmp_path / "copy.wav"
    args = parser.parse_args(["calls", sid, "--recording", str(out)])
    assert await _run(args, server.config.database_url.reveal(), 1.0) == 0
    assert out.read_bytes() == body
    assert server.services.metrics.value("switchboard_recordings_total", result="saved") == 1
    assert Path(path).stat().st_mode & 0o777 == 0o600
