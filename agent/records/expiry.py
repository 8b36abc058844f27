"""RECORDS_RETENTION_DAYS: call records older than that are deleted, at start and hourly.

A call's record is its row in `calls` and everything that belongs to it: turns, extraction
snapshots, transfers, messages. Its recording file goes with it (RECORDING_RETENTION_DAYS may
already have removed it). Age is the call's start. One exception, so that nothing the
owner was promised is lost: a call with a message whose SMS is still pending stays until
that SMS is sent or has failed for good. 0 (the default) keeps records for ever.

`delete_calls_before` is one transaction, in SQLite and Postgres alike; `ExpiryTask` runs it
on an injected clock, so tests age records and run the task without waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loguru import logger
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.records import models as m
from processors.clock import Clock

PERIOD_S = 3600.0


@dataclass
class Expired:
    calls: int
    recordings: list[str]  # the recording files of the deleted calls (to delete)


async def delete_calls_before(engine: AsyncEngine, cutoff: datetime) -> Expired:
    """Delete the calls started before `cutoff` with all their rows (one transaction)."""
    pending = select(m.messages.c.call_sid).where(m.messages.c.sms_status == "pending")
    old = select(m.calls.c.call_sid).where(
        m.calls.c.started_at < cutoff, m.calls.c.call_sid.not_in(pending)
    )
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(m.calls.c.call_sid, m.calls.c.recording_path).where(
                    m.calls.c.call_sid.in_(old)
                )
            )
        ).all()
        sids = [row.call_sid for row in rows]
        for start in range(0, len(sids), 500):  # bounded IN lists
            chunk = sids[start : start + 500]
            for table in (m.turns, m.extractions, m.transfers, m.messages):
                await conn.execute(delete(table).where(table.c.call_sid.in_(chunk)))
            await conn.execute(delete(m.calls).where(m.calls.c.call_sid.in_(chunk)))
    return Expired(len(sids), [row.recording_path for row in rows if row.recording_path])


def remove_files(paths: list[str]) -> int:
    """Delete the files (blocking); how many were there to delete."""
    removed = 0
    for path in paths:
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.error(f"records retention: cannot delete a recording: {exc}")
    return removed


class ExpiryTask:
    """Deletes expired records at start and every PERIOD_S."""

    def __init__(
        self,
        engine: AsyncEngine,
        days: int,
        *,
        clock: Clock,
        wall: Callable[[], float],
        in_thread,
        on_deleted: Callable[[int], None] = lambda n: None,
    ):
        self._engine = engine
        self._days = days
        self._clock = clock
        self._wall = wall
        self._in_thread = in_thread
        self._on_deleted = on_deleted
        self.runs = 0

    async def run(self) -> None:
        while True:
            await self.run_once()
            await self._clock.sleep(PERIOD_S)

    async def run_once(self) -> Expired | None:
        cutoff = datetime.fromtimestamp(self._wall(), UTC) - timedelta(days=self._days)
        try:
            expired = await delete_calls_before(self._engine, cutoff)
            if expired.recordings:
                await self._in_thread(remove_files, expired.recordings)
        except Exception as exc:  # retention must never stop the server; next hour again
            logger.error(f"records retention: failed ({type(exc).__name__}: {exc})")
            return None
        self.runs += 1
        if expired.calls:
            logger.info(
                f"records retention: deleted {expired.calls} call(s) older than "
                f"{self._days} day(s), with {len(expired.recordings)} recording(s)"
            )
            self._on_deleted(expired.calls)
        return expired
