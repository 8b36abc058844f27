"""RecordWriter: the one task per process that writes call records; calls only enqueue.

A call's processors run on the event loop that also paces its audio, so they never touch the
database: `enqueue(event)` is a `put_nowait` on a bounded queue (O(1), never waits). The
writer task takes whatever is queued (up to BATCH events) and writes it in one transaction,
so a turn reaches the database within milliseconds of its end, and a burst of calls costs
one commit per batch, not one per turn.

Failures: a failed batch is retried with backoff (the database may be restarting); if it
still fails, or broke a constraint, its events are written one by one so a single bad event cannot take others with
it, and what still fails is dropped, logged and counted (`switchboard_record_errors`). A full
queue (the database far behind) drops the new event the same way, rather than holding up a
call. `close()` writes what is queued (bounded by a timeout) and stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from loguru import logger
from sqlalchemy.exc import IntegrityError

from agent.records.store import Event, Store

QUEUE_SIZE = 20_000
BATCH = 200
RETRIES = 3
BACKOFF_S = 0.2


class RecordWriter:
    """Writes record events to a Store in the order they were enqueued."""

    def __init__(
        self,
        store: Store,
        metrics=None,
        *,
        queue_size: int = QUEUE_SIZE,
        redact: Callable[[Event], Event] | None = None,
    ):
        self.store = store
        self._redact = redact  # RECORDS_REDACT: agent/records/redact.py, in this task
        self._metrics = metrics
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.written = 0
        self.dropped = 0
        self.write_seconds: list[float] = []  # per batch, the last 1000 (benchmarks, tests)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="record-writer")

    def enqueue(self, event: Event) -> bool:
        """Queue one event; False (logged, counted) if the queue is full. Never waits."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._fail("queue_full", [event])
            return False
        self._idle.clear()
        return True

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything enqueued so far is written (or dropped); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stats(self) -> str:
        """Events written and lost, batch commit times (median, 95th percentile)."""
        times = sorted(self.write_seconds)
        if not times:
            return f"{self.written} written, {self.dropped} lost"
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
        return (
            f"{self.written} written, {self.dropped} lost, {len(times)} batches, "
            f"commit p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
        )

    async def close(self, timeout: float = 10.0) -> None:
        if not await self.flush(timeout):
            logger.error(f"call records: {self._queue.qsize()} event(s) not written at shutdown")
        logger.info(f"call records: {self.stats()}")
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if self._redact is not None:
                batch = [self._redact(event) for event in batch]
            await self._write(batch)
            if self._queue.empty():
                self._idle.set()

    async def _write(self, batch: list[Event]) -> None:
        for attempt in range(RETRIES):
            started = time.perf_counter()
            try:
                await self.store.apply(batch)
            except asyncio.CancelledError:
                raise
            except IntegrityError:
                break  # not transient: find the event at fault, below
            except Exception as exc:
                logger.warning(
                    f"call records: writing {len(batch)} event(s) failed "
                    f"(attempt {attempt + 1}/{RETRIES}): {exc.__class__.__name__}: {exc}"
                )
                await asyncio.sleep(BACKOFF_S * 2**attempt)
                continue
            self._count_written(len(batch), time.perf_counter() - started)
            return
        if len(batch) > 1:  # isolate the event that fails
            for event in batch:
                try:
                    await self.store.apply([event])
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.error(f"call records: dropping {type(event).__name__}: {exc}")
                    self._fail("write_failed", [event])
                else:
                    self._count_written(1, 0.0)
        else:
            self._fail("write_failed", batch)

    def _count_written(self, n: int, seconds: float) -> None:
        self.written += n
        if seconds:
            self.write_seconds.append(seconds)
            del self.write_seconds[:-1000]
        if self._metrics is not None:
            self._metrics.records_written.inc(n)

    def _fail(self, reason: str, events: list[Event]) -> None:
        self.dropped += len(events)
        sids = sorted({getattr(e, "call_sid", "?")[-8:] for e in events})
        logger.error(f"call records: {len(events)} event(s) lost ({reason}) for calls {sids}")
        if self._metrics is not None:
            self._metrics.record_errors.labels(reason).inc(len(events))
