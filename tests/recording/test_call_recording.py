"""agent/recording/call.py + service.py on virtual time: blocks every second on the file
thread, the record's events, and a file that cannot be written never stopping the call."""

from __future__ import annotations

import asyncio
import wave

import numpy as np

from agent.recording.service import Recordings
from agent.recording.wav import WavAppender
from agent.records.recordings import RecordingEnded, RecordingStarted
from processors.clock import FakeClock

SID = "CA" + "ab" * 16


class Events:
    def __init__(self):
        self.events = []

    def enqueue(self, event) -> bool:
        self.events.append(event)
        return True


async def settle_thread(rec) -> None:
    """Let the file thread finish what the last flush handed it."""
    for _ in range(50):
        await asyncio.sleep(0.01)


async def test_blocks_reach_the_file_every_second_and_the_record_gets_path_and_length(tmp_path):
    clock = FakeClock()
    errors: list[str] = []
    results: list[str] = []
    recordings = Recordings(
        tmp_path / "rec", clock=clock, on_error=errors.append, on_result=results.append
    )
    events = Events()
    recording = recordings.start_call(SID, events)
    caller = bytes([0x00]) * 160  # loud mu-law
    for k in range(100):  # two seconds of caller audio, delivered in real time
        await clock.advance(0.02)
        recording.caller.caller_audio(caller, 20 * k)
        if k % 50 == 49:
            await settle_thread(recording)  # (the file thread runs on real time)
    path = tmp_path / "rec" / f"{SID}.wav"
    with wave.open(str(path)) as wav:  # written while the call goes on, readable as it is
        assert wav.getnchannels() == 2 and 0.5 * 8000 <= wav.getnframes() <= 1.5 * 8000
    assert events.events == [RecordingStarted(SID, str(path))]

    await clock.advance(1.0)
    duration = await recording.finish()
    assert duration == 3.0 and errors == [] and results == ["saved"]
    assert events.events[-1] == RecordingEnded(SID, 3.0)
    with wave.open(str(path)) as wav:
        left = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")[0::2]
    assert len(left) == 3 * 8000
    assert (left[:16000] != 0).all() and not left[16000:].any()
    await recordings.close()


async def test_an_unwritable_folder_is_logged_and_counted_and_the_call_goes_on(tmp_path):
    clock = FakeClock()
    errors: list[str] = []
    results: list[str] = []
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where RECORDINGS_DIR should be")
    recordings = Recordings(blocker, clock=clock, on_error=errors.append, on_result=results.append)
    events = Events()
    recording = recordings.start_call(SID, events)
    for k in range(150):
        await clock.advance(0.02)
        recording.caller.caller_audio(bytes(160), 20 * k)  # the call's audio keeps flowing
    await settle_thread(recording)
    assert await recording.finish() == 0.0
    assert errors == ["open_failed"] and results == ["failed"]
    assert events.events == []  # no record of a file that does not exist
    await recordings.close()


class FailingAfter(WavAppender):
    """A file on a disk that fills up after `blocks` blocks."""

    blocks = 1

    def append(self, frames: bytes) -> None:
        if FailingAfter.blocks <= 0:
            raise OSError(28, "No space left on device")
        FailingAfter.blocks -= 1
        super().append(frames)


async def test_a_full_disk_mid_call_keeps_what_was_written(tmp_path):
    clock = FakeClock()
    errors: list[str] = []
    recordings = Recordings(
        tmp_path, clock=clock, on_error=errors.append, open_file=FailingAfter.open
    )
    events = Events()
    recording = recordings.start_call(SID, events)
    await clock.advance(1.0)
    await settle_thread(recording)
    await clock.advance(3.0)
    await settle_thread(recording)
    duration = await recording.finish()
    assert errors == ["write_failed"] and recording.failed == "write_failed"
    assert duration == 0.5  # the first block (1 s less the half second held back)
    with wave.open(str(tmp_path / f"{SID}.wav")) as wav:
        assert wav.getnframes() == 4000
    assert events.events == [
        RecordingStarted(SID, str(tmp_path / f"{SID}.wav")),
        RecordingEnded(SID, 0.5),
    ]
    await recordings.close()


def test_file_names_are_the_callsid_only(tmp_path):
    recordings = Recordings(tmp_path)
    assert recordings.path_for(SID) == tmp_path.resolve() / f"{SID}.wav"
    for bad in ("../etc/passwd", "CA/../x", "", "a" * 65):
        try:
            recordings.path_for(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


async def test_the_folder_is_checked_once_at_start(tmp_path):
    assert await Recordings(tmp_path / "new").check_writable() is None
    assert (tmp_path / "new").is_dir() and not any((tmp_path / "new").iterdir())
    blocker = tmp_path / "file"
    blocker.write_text("")
    problem = await Recordings(blocker / "sub").check_writable()
    assert problem and problem.startswith(("NotADirectoryError", "FileExistsError"))
