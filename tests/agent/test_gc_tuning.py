"""agent/gc_tuning.py: start-up objects frozen out of collections; every pause on /metrics."""

import gc

from prometheus_client import CollectorRegistry

from agent.gc_tuning import METRIC, GcPauseWatch, freeze_startup_objects


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
