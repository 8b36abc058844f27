"""Garbage-collector settings for a server that carries many real-time calls in one loop.

CPython's collector stops the whole process while it runs; the pacer of every call waits
with it. A full (generation 2) collection walks every tracked object: after start-up that
is ~80,000 objects (pipecat, openai, numpy, our graphs) and ~42 ms, every time, for objects
that live as long as the process. With 20 calls in the pacing benchmark one such pause
(~100 ms once the calls' own objects are added) made every call's greeting stutter at the
same instant.

- `freeze_startup_objects()`, once the server is ready: collect, then move everything alive
  into the permanent generation (`gc.freeze`), so later collections skip it (a full
  collection right after: 0.002 ms instead of 42).
- `release_objects(objects)`, when a call has ended: an ended call's objects are cycles
  (pipecat's processors link to each other both ways, hold their own bound methods as
  event handlers, queues and tasks that point back), so only a full collection frees them.
  Emptying each processor's `__dict__` breaks those cycles: reference counting frees the
  call at once (tests/e2e/test_call.py). Counted with `gc.DEBUG_SAVEALL` in a test process,
  cyclic garbage per ended call fell from ~1,480 objects to ~300 (pipecat's bus, the
  provider clients' sockets, and the in-process emulator's own side), and the 50-call
  soak's server from ~336 to ~323 MB (its RSS at the end of 10 minutes).
- The collection thresholds stay CPython's (700, 10, 10). A full collection still walks
  every live call's objects (90-120 ms at 100 calls, six in a 100-call benchmark run), but
  making them rarer costs memory: with ended calls released, a full-collection threshold of
  100 (ten times rarer) still grew the 50-call soak by ~12 MB/min, from what faults leave
  in cycles (exceptions holding their tracebacks, dropped sockets). Earlier, with calls
  still cycles, raising the youngest threshold to 10,000 grew it from ~340 MB to 620-720
  MB (12.5 MB/min).
- `GcPauseWatch`: every collection's pause, by generation, in the histogram
  `switchboard_gc_pause_seconds` on `/metrics`, so a stutter can be matched to a pause.
"""

from __future__ import annotations

import gc
import time

METRIC = "switchboard_gc_pause_seconds"
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


def freeze_startup_objects() -> int:
    """Collect once, then exempt every live object from future collections; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


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
