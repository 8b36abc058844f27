"""Garbage-collector settings for a server that carries many real-time calls in one loop.

CPython's collector stops the whole process while it runs, and every call's pacer waits with
it; a full collection walks every tracked object. So (measurements and what else was tried:
docs/decisions/gc-freezing.md):

- `freeze_startup_objects()`, once the server is ready: collect, then move everything alive
  into the permanent generation (`gc.freeze`), so later collections skip it.
- `release_objects(objects)`, when a call has ended: an ended call's objects are cycles
  (pipecat's processors link to each other both ways, hold their own bound methods as event
  handlers, queues and tasks that point back), so only a full collection would free them.
  Emptying each processor's `__dict__` breaks those cycles: reference counting frees the
  call at once.
- `CallFreezer`, while calls are live: every FREEZE_EVERY_S everything alive is frozen too,
  so the live calls' objects leave the collections as well. A cycle frozen while alive is
  only collected once unfrozen: so every THAW_AFTER_CALLS ended calls, at least every
  THAW_EVERY_S while calls are live, and whenever the last live call ends, `thaw`
  unfreezes everything, collects once, and freezes again.
- The collection thresholds stay CPython's (700, 10, 10).
- `GcPauseWatch`: every collection's pause, by generation, in the histogram
  `switchboard_gc_pause_seconds` on `/metrics`, so a stutter can be matched to a pause.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

METRIC = "switchboard_gc_pause_seconds"
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


def freeze_startup_objects() -> int:
    """Collect once, then exempt every live object from future collections; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


FREEZE_EVERY_S = 2.0
THAW_AFTER_CALLS = 100
THAW_EVERY_S = 120.0


def thaw() -> None:
    """Unfreeze everything, collect it all once, freeze what is alive again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class CallFreezer:
    """Keeps live calls' objects out of the collector's walks (module doc)."""

    def __init__(
        self,
        live_calls: Callable[[], int],
        freeze_every_s: float = FREEZE_EVERY_S,
        thaw_after_calls: int = THAW_AFTER_CALLS,
        thaw_every_s: float = THAW_EVERY_S,
    ) -> None:
        self.freeze_every_s = freeze_every_s
        self.thaw_after_calls = thaw_after_calls
        self.thaw_every_s = thaw_every_s
        self._live_calls = live_calls  # the server's count: no second copy here
        self.freezes = 0
        self.thaws = 0
        self._ended_since_thaw = 0
        self._last_thaw = time.monotonic()
        self._timer = None

    def call_started(self) -> None:
        """A call has started (and is counted live)."""
        if self._timer is None:
            self._schedule()

    def call_ended(self) -> None:
        """A call has ended (and is no longer counted live)."""
        self._ended_since_thaw += 1
        if not self._live_calls() or self._ended_since_thaw >= self.thaw_after_calls:
            self._thaw()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.freeze_every_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not self._live_calls():
            return
        if time.monotonic() - self._last_thaw >= self.thaw_every_s:
            self._thaw()
        else:
            gc.freeze()
            self.freezes += 1
        self._schedule()

    def _thaw(self) -> None:
        thaw()
        self.thaws += 1
        self._ended_since_thaw = 0
        self._last_thaw = time.monotonic()


def release_objects(objects) -> int:
    """Empty the `__dict__` of each object: the links of an ended call's processors, so its
    cycles fall apart and reference counting frees them. Only for objects nothing will use
    again. Returns how many were emptied (objects without a `__dict__` are skipped)."""
    emptied = 0
    for obj in objects:
        attrs = getattr(obj, "__dict__", None)
        if attrs:
            attrs.clear()
            emptied += 1
    return emptied


class GcPauseWatch:
    """Times each collection through `gc.callbacks` into a Prometheus histogram."""

    def __init__(self, registry) -> None:
        from prometheus_client import Histogram

        self.histogram = Histogram(
            METRIC,
            "How long each garbage collection stopped the process, by generation",
            ["generation"],
            buckets=BUCKETS,
            registry=registry,
        )
        self._by_generation = [self.histogram.labels(str(g)) for g in range(3)]
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)

    def install(self) -> GcPauseWatch:
        gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
