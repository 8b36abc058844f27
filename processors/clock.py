"""Clocks for the call's timers: the real one on the event loop, a fake one for tests.

The pacer, the send clock (agent/twilio/send_clock.py) and the call controller read the
time and wait through a `Clock` handed to them, so their tests run on virtual time
(`FakeClock`) with no sleep on the wall clock and no stall of a busy CI machine can make
them flaky. Times are seconds on `time.monotonic()`'s scale.

`LOOP_CLOCK`'s methods are the standard library's own functions (`time.monotonic`,
`asyncio.sleep`), not wrappers: the pacer calls them for every 20 ms chunk, and an injected
clock must cost it nothing there.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class Timer(Protocol):
    """A scheduled callback (asyncio.TimerHandle fits)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """What a timer-driven part of a call needs of time."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def sleep(self, delay: float) -> Awaitable[None]:
        """Wait `delay` seconds."""
        ...

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run `callback(*args)` in `delay` seconds, in the event loop's thread."""
        ...

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        """Wait for `event` at most `timeout` seconds (None: for ever); whether it was set."""
        ...


class LoopClock:
    """The real clock: `time.monotonic()` and timers on the running event loop."""

    now = staticmethod(time.monotonic)
    sleep = staticmethod(asyncio.sleep)

    @staticmethod
    def call_later(delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float | None) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


LOOP_CLOCK: Clock = LoopClock()


class _FakeTimer:
    __slots__ = ("callback", "args", "cancelled")

    def __init__(self, callback: Callable[..., Any], args: tuple):
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Virtual time for tests: nothing fires until the test advances the clock.

    `advance(seconds)` steps from timer to timer, and between steps lets the event loop run
    until it has nothing left to do right now (`settle`), so frames travel through a
    pipeline, tasks wake and schedule new timers, all at the virtual instant they would on
    the real clock. `run_until(future)` advances until a task is done (a pipeline's end).
    """

    SETTLE_ROUNDS = 40  # loop iterations run between two steps of virtual time
    REAL_GRACE_S = 5.0  # run_until: how long work not on this clock may take to finish

    def __init__(self, start: float = 1000.0):
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = _FakeTimer(callback, args)
        heapq.heappush(self._timers, (self._now + max(0.0, delay), next(self._seq), timer))
        return timer

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        timer = self.call_later(delay, _resolve, future)
        try:
            await future
        finally:
            timer.cancel()

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        if event.is_set():
            return True
        waiter = asyncio.ensure_future(event.wait())
        timer = None
        if timeout is not None:
            timer = self.call_later(timeout, waiter.cancel)
        try:
            await waiter
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # we were cancelled, not timed out
                raise
            return event.is_set()
        finally:
            if timer is not None:
                timer.cancel()
            waiter.cancel()
        return True

    def next_due(self) -> float | None:
        """When the next live timer fires (None: none is scheduled)."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    async def settle(self) -> None:
        """Let the loop run everything that is ready now (tasks, frames, callbacks)."""
        for _ in range(self.SETTLE_ROUNDS):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move virtual time `seconds` on, firing each timer at its time."""
        until = self._now + seconds
        await self.settle()
        while (due := self.next_due()) is not None and due <= until:
            self._now = max(self._now, due)
            self._fire_due()
            await self.settle()
        self._now = until
        await self.settle()

    async def run_until(self, future: Awaitable, limit: float = 60.0) -> Any:
        """Advance timer by timer until `future` is done (at most `limit` virtual seconds)."""
        future = asyncio.ensure_future(future)
        deadline = self._now + limit
        await self.settle()
        while not future.done():
            due = self.next_due()
            if due is None:
                # Nothing virtual is pending: what is left waits on the loop itself (a task
                # being cancelled, a socket). Return as soon as it is done.
                await asyncio.wait({future}, timeout=self.REAL_GRACE_S)
                if not future.done():
                    future.cancel()
                    raise TimeoutError("still running, with no timer left to advance to")
                break
            if due > deadline:
                future.cancel()
                raise TimeoutError(f"still running after {limit} s of virtual time")
            self._now = max(self._now, due)
            self._fire_due()
            await self.settle()
        return future.result()

    def _fire_due(self) -> None:
        while self._timers and self._timers[0][0] <= self._now:
            _due, _seq, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback(*timer.args)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
