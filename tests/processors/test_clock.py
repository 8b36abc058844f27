"""processors/clock.py: the real clock is the standard library's; the fake one moves only
when a test advances it, firing timers in order at their virtual time."""

from __future__ import annotations

import asyncio
import time

import pytest

from processors.clock import LOOP_CLOCK, FakeClock


def test_the_loop_clock_costs_nothing_per_call():
    assert LOOP_CLOCK.now is time.monotonic and LOOP_CLOCK.sleep is asyncio.sleep


async def test_the_loop_clock_waits_for_an_event_or_its_timeout():
    event = asyncio.Event()
    assert not await LOOP_CLOCK.wait(event, 0)
    event.set()
    assert await LOOP_CLOCK.wait(event, None)
    fired = asyncio.Event()
    LOOP_CLOCK.call_later(0, fired.set)
    assert await LOOP_CLOCK.wait(fired, 5)


async def test_timers_fire_in_order_at_their_virtual_time():
    clock = FakeClock()
    start, fired = clock.now(), []
    clock.call_later(0.3, lambda: fired.append(("b", clock.now() - start)))
    clock.call_later(0.1, lambda: fired.append(("a", clock.now() - start)))
    cancelled = clock.call_later(0.2, lambda: fired.append(("never", 0)))
    cancelled.cancel()
    await clock.advance(0.25)
    assert fired == [("a", pytest.approx(0.1))]
    await clock.advance(0.25)
    assert fired == [("a", pytest.approx(0.1)), ("b", pytest.approx(0.3))]
    assert clock.now() - start == pytest.approx(0.5) and clock.next_due() is None


async def test_sleepers_wake_at_their_time_and_run_until_drives_a_task():
    clock = FakeClock()
    woke: list[float] = []

    async def sleeper(delay: float) -> float:
        await clock.sleep(delay)
        woke.append(delay)
        return clock.now()

    start = clock.now()
    ends = await clock.run_until(asyncio.gather(sleeper(0.2), sleeper(0.05)))
    assert woke == [0.05, 0.2] and [e - start for e in ends] == pytest.approx([0.2, 0.05])


async def test_wait_returns_at_the_event_or_false_at_the_timeout():
    clock = FakeClock()
    event = asyncio.Event()
    waiting = asyncio.ensure_future(clock.wait(event, 1.0))
    await clock.advance(0.5)
    assert not waiting.done()
    await clock.advance(0.6)
    assert waiting.result() is False
    clock.call_later(0.2, event.set)
    assert await clock.run_until(clock.wait(event, 1.0)) is True


async def test_run_until_gives_up_past_its_limit():
    clock = FakeClock()
    with pytest.raises(TimeoutError):
        await clock.run_until(clock.sleep(10), limit=1)
