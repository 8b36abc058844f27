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
- The collection thresholds stay CPython's (700, 10, 10). Raising the youngest to 10,000
  made full collections ~14 times rarer, and a full collection is what frees an ended
  call (pipecat's processors link to each other both ways, so a call's objects are a cycle):
  in the 50-call soak the server grew from ~340 MB to 620-720 MB (12.5 MB/min) where the
  defaults stay near 340. One such run had fewer underruns than one with the defaults (158
  vs 841 over 20 s), but runs at 50 calls vary that much on their own.
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
