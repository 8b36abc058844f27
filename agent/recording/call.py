"""CallRecording: one call's recording, from the pipeline's build to the call's end.

It owns the call's tape (agent/recording/tape.py), the link and caller tap the pipeline
binds (agent/recording/link.py), and a task that every FLUSH_S takes the settled part of
the tape off as one block and appends it to the call's WAV on the recording thread
(`Recordings.in_thread`; agent/recording/wav.py keeps the file readable after each block).
The event loop only slices and converts about a second of audio per call per second.

The first block written puts the file's path in the call's record (`RecordingStarted`);
`finish()` at the call's end writes the rest, closes the file and records its length
(`RecordingEnded`). A file that cannot be created or written (unwritable folder, full disk)
is logged once and counted (`switchboard_recording_errors`), the recording stops there, and
the call goes on: the file keeps every block written before the failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from agent.recording.link import CallerTap, RecordingLink
from agent.recording.tape import CallTape
from agent.recording.wav import WavAppender
from agent.records.recordings import RecordingEnded, RecordingStarted
from processors.clock import Clock
from processors.media_link import MediaLink

FLUSH_S = 1.0


class RecordEvents(Protocol):
    """Where the recording's record events go (the process's RecordWriter)."""

    def enqueue(self, event: Any) -> bool: ...


class CallRecording:
    """One call's recording (see the module doc)."""

    def __init__(
        self,
        *,
        call_sid: str,
        path: Path,
        clock: Clock,
        start: float,
        in_thread: Callable[..., Awaitable[Any]],
        open_file: Callable[[Path], WavAppender],
        records: RecordEvents | None,
        on_error: Callable[[str], None],
        on_result: Callable[[str], None] = lambda result: None,
    ):
        self.call_sid = call_sid
        self.path = path
        self.tape = CallTape(start)
        self.caller = CallerTap(self.tape, clock)
        self._clock = clock
        self._in_thread = in_thread
        self._open_file = open_file
        self._records = records
        self._on_error = on_error
        self._on_result = on_result
        self._file: WavAppender | None = None
        self.failed: str | None = None  # why writing stopped, if it did
        self.duration_s = 0.0  # seconds written to the file
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def link(self, inner: MediaLink) -> RecordingLink:
        """The media link the pacer writes to: `inner`, recorded."""
        return RecordingLink(inner, self.tape, self._clock)

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_every(), name="recording-flush")

    async def _flush_every(self) -> None:
        while not await self._clock.wait(self._stop, FLUSH_S):
            await self._write(self._take(final=False))

    def _take(self, final: bool) -> bytes:
        try:
            return self.tape.take(self._clock.now(), final)
        except Exception as exc:  # a recording bug must not end the call
            logger.exception("recording: taking a block failed")
            self._fail("tape_failed", exc)
            return b""

    async def finish(self) -> float:
        """The call is over: write the rest, close the file, record its length."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._write(self._take(final=True))
        if self._file is not None:
            try:
                await self._in_thread(self._file.close)
            except OSError as exc:
                self._fail("close_failed", exc)
            if self._records is not None:
                self._records.enqueue(RecordingEnded(self.call_sid, round(self.duration_s, 3)))
        self._on_result("failed" if self.failed else "saved")
        if self.tape.late_caller_samples:
            logger.info(
                f"recording: {self.tape.late_caller_samples / 8000:.2f}s of caller audio came "
                "too late for its place and was written where the file had got to"
            )
        return self.duration_s

    async def _write(self, block: bytes) -> None:
        if not block or self.failed:
            return
        first = self._file is None
        try:
            await self._in_thread(self._append, block)
        except (OSError, ValueError) as exc:
            self._fail("open_failed" if self._file is None else "write_failed", exc)
            return
        self.duration_s = self._file.seconds
        if first and self._records is not None:
            self._records.enqueue(RecordingStarted(self.call_sid, str(self.path)))

    def _append(self, block: bytes) -> None:
        """On the recording thread: open the file on the first block, append."""
        if self._file is None:
            self._file = self._open_file(self.path)
        self._file.append(block)

    def _fail(self, reason: str, exc: Exception) -> None:
        if self.failed:
            return
        self.failed = reason
        self._on_error(reason)
        kept = f"; the file keeps its first {self.duration_s:.1f}s" if self._file else ""
        logger.error(
            f"recording {self.path.name}: {reason} ({exc.__class__.__name__}: {exc}); "
            f"not recording the rest of this call{kept}"
        )
