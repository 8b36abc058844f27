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
- `GC_THRESHOLDS`: the youngest generation is collected after 10,000 net allocations
  instead of 700 (a call allocates frames by the thousand a second), older ones as CPython
  does. Measured over the same 20 s of 50 calls in the pacing benchmark: CPython's defaults
  paused 563 + 51 + 4 times (gen 0/1/2) for 0.42 + 0.23 + 0.42 s, the gen-2 pauses ~105 ms
  each; these settings 33 + 3 + 0 times for 0.14 + 0.15 s, with 158 underruns instead of 841.
- `GcPauseWatch`: every collection's pause, by generation, in the histogram
  `switchboard_gc_pause_seconds` on `/metrics`, so a stutter can be matched to a pause.
"""

from __future__ import annotations

import gc
import time

GC_THRESHOLDS = (10_000, 10, 10)
METRIC = "switchboard_gc_pause_seconds"
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


def freeze_startup_objects() -> int:
    """Collect once, then exempt every live object from future collections; how many."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
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
