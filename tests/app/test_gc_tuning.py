"""agent/app/gc_tuning.py: start-up objects frozen out of collections, live calls' objects too
(thawed now and then so frozen cycles are still collected), ended calls released, every
pause on /metrics."""

import asyncio
import gc
import weakref

import pytest
from prometheus_client import CollectorRegistry

from agent.app.gc_tuning import (
    METRIC,
    CallFreezer,
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


class Node:
    """A stand-in for a call's objects: linked both ways, like pipecat's processors."""

    def __init__(self):
        self.other = None


def cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


async def test_live_calls_objects_are_frozen_and_a_dead_cycle_waits_for_the_thaw(unfrozen):
    calls: list[int] = []  # the server's live calls
    freezer = CallFreezer(lambda: len(calls), freeze_every_s=0.05)
    calls.append(1)
    freezer.call_started()
    call_objects = cycle()
    gone = weakref.ref(call_objects)
    await asyncio.sleep(0.12)
    assert freezer.freezes >= 1
    assert not any(o is call_objects for o in gc.get_objects(generation=2))  # frozen
    del call_objects  # part of the call that ended while frozen: only a cycle holds it
    gc.collect()
    assert gone() is not None  # frozen: no collection walks it
    calls.pop()
    freezer.call_ended()  # the last live call: thaw
    assert freezer.thaws == 1
    assert gone() is None  # collected by the thaw


async def test_thaw_after_so_many_ended_calls_while_others_are_live(unfrozen):
    calls: list[int] = []
    freezer = CallFreezer(lambda: len(calls), freeze_every_s=10, thaw_after_calls=3)
    for n in range(5):
        calls.append(n)
        freezer.call_started()
    for _ in range(2):
        calls.pop()
        freezer.call_ended()
    assert freezer.thaws == 0
    calls.pop()
    freezer.call_ended()  # the third: two calls still live
    assert freezer.thaws == 1 and calls


async def test_thaw_at_least_every_so_often_while_calls_are_live(unfrozen):
    calls = [1]  # one call, live the whole time
    freezer = CallFreezer(lambda: len(calls), freeze_every_s=0.03, thaw_every_s=0.1)
    freezer.call_started()
    call_objects = cycle()
    gone = weakref.ref(call_objects)
    await asyncio.sleep(0.05)  # frozen by now
    del call_objects
    await asyncio.sleep(0.15)  # ...and thawed: one call live the whole time
    assert freezer.thaws >= 1
    assert gone() is None
    calls.pop()
    freezer.call_ended()
