"""watch_amd_in_records: an AMD result recorded by another server process reaches the call,
once per new result, only while it is undecided, and a failing database is asked again."""

from __future__ import annotations

import asyncio

from agent.app.amd_poll import watch_amd_in_records
from processors.clock import FakeClock


class Records:
    def __init__(self) -> None:
        self.result: str | None = None
        self.asked = 0
        self.fail = 0  # this many reads raise first

    async def amd_result(self, call_sid: str) -> str | None:
        assert call_sid == "CA1"
        self.asked += 1
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database went away")
        return self.result


def start(records: Records, clock: FakeClock, state: dict) -> tuple[asyncio.Task, list[str]]:
    delivered: list[str] = []

    def deliver(result: str) -> None:
        delivered.append(result)
        if result in ("human", "machine_end_beep"):
            state["decided"] = True

    task = asyncio.get_running_loop().create_task(
        watch_amd_in_records(
            records, "CA1", deliver, lambda: not state["decided"], clock=clock, every_s=0.5
        )
    )
    return task, delivered


async def test_a_result_recorded_elsewhere_is_delivered_and_the_watch_ends():
    clock, records, state = FakeClock(0.0), Records(), {"decided": False}
    task, delivered = start(records, clock, state)
    await clock.advance(2.0)
    assert delivered == [] and records.asked == 4
    records.result = "human"
    await clock.advance(0.5)
    assert delivered == ["human"] and task.done()
    await clock.advance(5.0)
    assert records.asked == 5  # no reads once decided


async def test_each_new_result_is_delivered_once():
    clock, records, state = FakeClock(0.0), Records(), {"decided": False}
    task, delivered = start(records, clock, state)
    records.result = "machine_start"
    await clock.advance(2.0)
    assert delivered == ["machine_start"] and not task.done()
    records.result = "machine_end_beep"
    await clock.advance(0.5)
    assert delivered == ["machine_start", "machine_end_beep"] and task.done()


async def test_a_failing_database_is_asked_again():
    clock, records, state = FakeClock(0.0), Records(), {"decided": False}
    records.fail, records.result = 3, "human"
    task, delivered = start(records, clock, state)
    await clock.advance(1.5)
    assert delivered == [] and not task.done()
    await clock.advance(0.5)
    assert delivered == ["human"] and task.done()


async def test_a_call_decided_otherwise_stops_the_watch_without_reading():
    clock, records, state = FakeClock(0.0), Records(), {"decided": False}
    task, delivered = start(records, clock, state)
    await clock.advance(0.5)
    state["decided"] = True  # the words decided
    records.result = "human"
    await clock.advance(1.0)
    assert task.done() and delivered == [] and records.asked == 1
