"""agent/recording/wav.py: a WAV written in blocks stays readable, even when the writer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from agent.recording.wav import HEADER_BYTES, WavAppender

ROOT = Path(__file__).resolve().parents[2]


def frames(n: int, value: int) -> bytes:
    """n stereo frames: left = value, right = -value."""
    block = np.empty(2 * n, dtype="<i2")
    block[0::2], block[1::2] = value, -value
    return block.tobytes()


def read(path: Path) -> tuple[wave._wave_params, bytes]:
    with wave.open(str(path), "rb") as wav:
        return wav.getparams(), wav.readframes(wav.getnframes())


def test_blocks_appended_read_back_as_one_stereo_wav(tmp_path):
    path = tmp_path / "deep" / "CA1.wav"
    wav = WavAppender.open(path)
    wav.append(frames(8000, 100))
    wav.append(frames(4000, 200))
    assert wav.seconds == 1.5
    wav.close()
    params, data = read(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert data == frames(8000, 100) + frames(4000, 200)
    assert path.stat().st_mode & 0o777 == 0o600  # callers' voices: owner only
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_the_header_is_valid_after_every_block_without_close(tmp_path):
    path = tmp_path / "CA2.wav"
    wav = WavAppender.open(path)
    assert read(path)[1] == b""  # readable (empty) from the start
    wav.append(frames(800, 7))
    assert read(path)[1] == frames(800, 7)
    wav.append(frames(800, 9))
    assert read(path)[1] == frames(800, 7) + frames(800, 9)


_KILLED_WRITER = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {root!r})
from agent.recording.wav import WavAppender
wav = WavAppender.open({path!r})
for value in (1000, 2000, 3000):
    block = np.full(2 * 8000, value, dtype="<i2").tobytes()
    wav.append(block)
# a block half written when the process dies: data on disk, header not yet updated
os.pwrite(wav._fd, b"\\x05" * 3000, os.fstat(wav._fd).st_size)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_call_leaves_a_readable_wav_of_every_block_written(tmp_path):
    path = tmp_path / "CA3.wav"
    script = _KILLED_WRITER.format(root=str(ROOT), path=str(path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    params, data = read(path)  # never closed: the header describes the three blocks
    assert params.nframes == 3 * 8000
    samples = np.frombuffer(data, dtype="<i2")
    assert list(samples[::8000]) == [1000, 1000, 2000, 2000, 3000, 3000]
    assert path.stat().st_size == HEADER_BYTES + 3 * 32000 + 3000  # the torn tail is there...

    # ...and reopening (the call's stream comes back) drops it and goes on after the blocks.
    wav = WavAppender.open(path)
    assert wav.seconds == 3.0
    wav.append(frames(8000, 4))
    wav.close()
    params, data = read(path)
    assert params.nframes == 4 * 8000 and data.endswith(frames(8000, 4))
    assert path.stat().st_size == HEADER_BYTES + 4 * 32000


def test_a_file_of_another_kind_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "CA4.wav"
    path.write_bytes(b"not a wav at all, and longer than a header " * 4)
    with pytest.raises(ValueError, match="not a 2-channel 8000 Hz WAV"):
        WavAppender.open(path)
    assert path.read_bytes().startswith(b"not a wav")


def test_an_unwritable_folder_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OSError):
        WavAppender.open(blocker / "CA5.wav")


def test_a_failed_write_raises_oserror_and_keeps_the_header_of_what_was_written(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    path = tmp_path / "CA6.wav"
    wav = WavAppender.open(path)
    wav.append(frames(800, 3))
    full = os.open("/dev/full", os.O_WRONLY)
    real_fd, wav._fd = wav._fd, full  # writes now fail (no space, or no seeking)
    with pytest.raises(OSError):
        wav.append(frames(800, 4))
    wav._fd = real_fd
    os.close(full)
    assert wav.data_bytes == 800 * 4  # the failed block is not counted
    assert read(path)[1] == frames(800, 3)
