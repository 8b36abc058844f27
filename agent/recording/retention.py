"""RECORDING_RETENTION_DAYS: recordings older than that are deleted, at start and every hour.

Age is the file's last write (a call's end), so a live call's file is never old, and files
whose record was lost (or a server that died mid-call) are deleted like any other. Only
`*.wav` files directly in RECORDINGS_DIR are considered. Each deletion is noted in the
call's record (`RecordingDeleted`, by path; `GET /calls/SID/recording` then answers 410).
Retention runs whether or not a graph records calls now: recordings made earlier still
age out. 0 keeps recordings for ever.

`sweep` does the file work (blocking: the server runs it on its recording thread); the
wall clock is injected, and so is the event loop's clock of `RetentionTask`, so tests age
files and run the task without waiting.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from agent.records.recordings import RecordingDeleted
from processors.clock import Clock

PERIOD_S = 3600.0
DAY_S = 86400.0


def sweep(directory: Path, max_age_days: float, now: float) -> list[Path]:
    """Delete the `*.wav` files in `directory` last written more than `max_age_days` before
    `now` (epoch seconds); the paths deleted. A file that cannot be deleted is logged."""
    cutoff = now - max_age_days * DAY_S
    deleted = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.name.endswith(".wav") or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.error(f"recording retention: cannot delete {entry.name}: {exc}")
            continue
        deleted.append(Path(entry.path))
    return deleted


class RetentionTask:
    """Runs `sweep` at start and every PERIOD_S; notes each deletion in the records."""

    def __init__(
        self,
        directory: Path,
        days: float,
        *,
        in_thread: Callable[..., Awaitable[Any]],
        records: Callable[[], Any],
        clock: Clock,
        wall: Callable[[], float],
        on_deleted: Callable[[int], None],
    ):
        self._directory = directory
        self._days = days
        self._in_thread = in_thread
        self._records = records  # the RecordWriter now (None: no records running)
        self._clock = clock
        self._wall = wall
        self._on_deleted = on_deleted
        self.sweeps = 0

    async def run(self) -> None:
        while True:
            await self.sweep_once()
            await self._clock.sleep(PERIOD_S)

    async def sweep_once(self) -> list[Path]:
        try:
            deleted = await self._in_thread(sweep, self._directory, self._days, self._wall())
        except Exception:  # retention must never stop the server
            logger.exception("recording retention: sweep failed")
            return []
        self.sweeps += 1
        if deleted:
            logger.info(
                f"recording retention: deleted {len(deleted)} recording(s) older than "
                f"{self._days:g} day(s)"
            )
            self._on_deleted(len(deleted))
            writer = self._records()
            when = datetime.fromtimestamp(self._wall(), UTC)
            for path in deleted:
                if writer is not None:
                    writer.enqueue(RecordingDeleted(str(path), when))
        return deleted


async def cancel(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
