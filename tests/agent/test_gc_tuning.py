"""agent/gc_tuning.py: start-up objects frozen out of collections, ended calls released, every
pause on /metrics."""

import gc

from prometheus_client import CollectorRegistry

from agent.gc_tuning import (
    METRIC,
    GcPauseWatch,
    freeze_startup_objects,
    release_objects,
)


def test_freeze_moves_live_objects_out_of_collections():
    before = gc.get_threshold()
    try:
        frozen = freeze_startup_objects()
        assert frozen > 1000  # this test process: pytest, pipecat, ...
        assert gc.get_threshold() == before  # CPython's thresholds (see the module doc)
        # Frozen objects are out of every collection: the collector now tracks only what
        # was made since (a few objects of this test), not the thousands frozen.
        assert len(gc.get_objects()) < frozen / 10
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_pause_watch_times_each_collection_by_generation():
    registry = CollectorRegistry()
    watch = GcPauseWatch(registry).install()
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        watch.uninstall()
    assert watch not in gc.callbacks
    for generation in ("0", "2"):
        count = registry.get_sample_value(f"{METRIC}_count", {"generation": generation})
        assert count is not None and count >= 1
        assert registry.get_sample_value(f"{METRIC}_sum", {"generation": generation}) > 0


class _Node:
    def __init__(self):
        self.peer = None
        self.handlers = {"on_event": self.on_event}  # a bound method: a cycle to self

    def on_event(self):
        pass


def test_released_cycles_are_freed_by_reference_counting():
    import weakref

    def pair():
        a, b = _Node(), _Node()
        a.peer, b.peer = b, a
        return a, b

    released, kept = pair(), pair()
    released_refs = [weakref.ref(n) for n in released]
    kept_ref = weakref.ref(kept[0])
    gc.disable()  # from here on only reference counting frees anything
    try:
        assert release_objects([*released, 42]) == 2  # an object without __dict__ is skipped
        del released, kept
        assert [r() for r in released_refs] == [None, None]
        assert kept_ref() is not None  # the same cycle, not released: it waits for the collector
    finally:
        gc.enable()
    gc.collect()
    assert kept_ref() is None
