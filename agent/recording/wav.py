"""WavAppender: a 16-bit PCM WAV file written as the call goes, readable after a crash.

A call's recording is written in blocks of about a second while the call lasts. After each
block the header's two sizes (RIFF and data) are rewritten to cover exactly the frames
written so far: the data is written first, the sizes after, so a process killed at any
moment leaves a file whose header describes only complete frames (a reader ignores bytes
past the data size). Opening a file that is already a WAV of the same format continues it
(a call whose media stream comes back after a transfer), dropping any bytes written after
its header's last update.

Plain `os.pwrite` on a file descriptor: no Python buffering to lose, no seek state. Files
are created owner-only (0600, their folder 0700): they hold callers' voices. The calls are
blocking; the server makes them on its recording thread (agent/recording/service.py).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

HEADER_BYTES = 44
_FMT = struct.Struct("<4sI4s4sIHHIIHH4sI")
MAX_DATA_BYTES = 0xFFFF_FFFF - HEADER_BYTES  # the RIFF size field's limit (~37 h of stereo)


def header(data_bytes: int, channels: int, rate: int) -> bytes:
    """The canonical 44-byte header of a PCM16 WAV holding `data_bytes` of frames."""
    align = channels * 2
    return _FMT.pack(
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        rate,
        rate * align,
        align,
        16,
        b"data",
        data_bytes,
    )


class WavAppender:
    """One WAV file open for appending frames (blocking calls; see the module doc)."""

    def __init__(self, fd: int, path: Path, channels: int, rate: int, data_bytes: int):
        self._fd = fd
        self.path = path
        self.channels = channels
        self.rate = rate
        self.data_bytes = data_bytes

    @classmethod
    def open(cls, path: str | Path, *, channels: int = 2, rate: int = 8000) -> WavAppender:
        """Create `path` (and its folder), or continue it if it is a WAV of this format.
        Raises OSError (unwritable, full disk) or ValueError (a file of another kind)."""
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            data_bytes = 0
            if size:
                data_bytes = _resumable(os.pread(fd, HEADER_BYTES, 0), size, channels, rate)
                if data_bytes is None:
                    raise ValueError(f"{path} exists and is not a {channels}-channel {rate} Hz WAV")
            os.ftruncate(fd, HEADER_BYTES + data_bytes)
            os.pwrite(fd, header(data_bytes, channels, rate), 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path, channels, rate, data_bytes)

    @property
    def seconds(self) -> float:
        return self.data_bytes / (self.channels * 2 * self.rate)

    def append(self, frames: bytes) -> None:
        """Write whole frames after the last ones, then the sizes that cover them."""
        if not frames:
            return
        if len(frames) % (self.channels * 2):
            raise ValueError("not a whole number of frames")
        if self.data_bytes + len(frames) > MAX_DATA_BYTES:
            raise OSError("WAV size limit reached")
        offset = HEADER_BYTES + self.data_bytes
        view = memoryview(frames)
        while view:  # pwrite may write less than asked (a signal, a nearly full disk)
            written = os.pwrite(self._fd, view, offset)
            view = view[written:]
            offset += written
        self.data_bytes += len(frames)
        os.pwrite(self._fd, struct.pack("<I", 36 + self.data_bytes), 4)
        os.pwrite(self._fd, struct.pack("<I", self.data_bytes), 40)

    def close(self) -> None:
        """Flush to disk and close (idempotent)."""
        if self._fd < 0:
            return
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = -1


def _resumable(head: bytes, size: int, channels: int, rate: int) -> int | None:
    """The data bytes of an existing file to keep, or None if it is not our kind of WAV."""
    if len(head) < HEADER_BYTES:
        return None
    fields = _FMT.unpack(head)
    riff, _, wave, fmt, fmt_size, pcm, chans, hz, _, align, bits, data, data_bytes = fields
    ours = (riff, wave, fmt, fmt_size, pcm, chans, hz, bits, data) == (
        b"RIFF",
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        16,
        b"data",
    )
    if not ours:
        return None
    data_bytes = min(data_bytes, size - HEADER_BYTES)
    return data_bytes - data_bytes % align
