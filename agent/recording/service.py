"""Recordings: the process's side of call recording, shared by every call.

    directory   RECORDINGS_DIR, resolved once (the record keeps absolute paths)
    thread      one worker thread for every file operation (create, append, close, delete),
                so a slow or full disk never blocks the event loop, and one call's blocks
                are written in order
    retention   RECORDING_RETENTION_DAYS (agent/recording/retention.py), at start and hourly

`start_call(call_sid, records)` begins a call's recording (agent/recording/call.py) when its
graph records calls (`call.record`); the file is `RECORDINGS_DIR/<CallSid>.wav`. A CallSid
is Twilio's 34-character random id, and recordings are only ever served behind ADMIN_TOKEN
(agent/app/recording_api.py), never by a static route. The server opens this in its
cleanup context (agent/app/server.py) and closes it after the last call.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agent.recording import retention
from agent.recording.call import CallRecording, RecordEvents
from agent.recording.wav import WavAppender
from processors.clock import LOOP_CLOCK, Clock

_SAFE_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")


class Recordings:
    """Call recordings of one server process (see the module doc)."""

    def __init__(
        self,
        directory: str | Path,
        retention_days: int = 0,
        *,
        on_error: Callable[[str], None] = lambda reason: None,
        on_result: Callable[[str], None] = lambda result: None,
        on_deleted: Callable[[int], None] = lambda count: None,
        clock: Clock = LOOP_CLOCK,
        wall: Callable[[], float] = time.time,
        open_file: Callable[[Path], WavAppender] = WavAppender.open,
    ):
        self.directory = Path(directory).resolve()
        self.retention_days = retention_days
        self.on_error = on_error
        self._on_result = on_result
        self._on_deleted = on_deleted
        self._clock = clock
        self._wall = wall
        self._open_file = open_file
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recordings")
        self._retention_task: asyncio.Task | None = None
        self.retention: retention.RetentionTask | None = None

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking file operation on the recording thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def check_writable(self) -> str | None:
        """Create the folder and write a probe file in it; what went wrong, if anything."""
        try:
            await self.in_thread(self._probe)
        except OSError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        return None

    def _probe(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = self.directory / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()

    def path_for(self, call_sid: str) -> Path:
        if not _SAFE_SID.match(call_sid):
            raise ValueError(f"not a CallSid: {call_sid!r}")
        return self.directory / f"{call_sid}.wav"

    def start_call(
        self, call_sid: str, records: RecordEvents | None, start: float | None = None
    ) -> CallRecording:
        """A started recording of one call; `start` is its sample 0 on the clock (now)."""
        recording = CallRecording(
            call_sid=call_sid,
            path=self.path_for(call_sid),
            clock=self._clock,
            start=self._clock.now() if start is None else start,
            in_thread=self.in_thread,
            open_file=self._open_file,
            records=records,
            on_error=self.on_error,
            on_result=self._on_result,
        )
        recording.start()
        return recording

    def start_retention(self, records: Callable[[], RecordEvents | None]) -> None:
        """Delete old recordings now and every hour (nothing when retention_days is 0)."""
        if self.retention_days <= 0:
            return
        self.retention = retention.RetentionTask(
            self.directory,
            self.retention_days,
            in_thread=self.in_thread,
            records=records,
            clock=self._clock,
            wall=self._wall,
            on_deleted=self._on_deleted,
        )
        self._retention_task = asyncio.create_task(self.retention.run(), name="recording-retention")

    async def close(self) -> None:
        """Stop retention; wait for the file operations still queued."""
        await retention.cancel(self._retention_task)
        self._retention_task = None
        await asyncio.get_running_loop().run_in_executor(None, self._thread.shutdown, True)
