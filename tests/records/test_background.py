"""agent/records/background.py: tasks kept while they run, settled (bounded) at the end."""

from __future__ import annotations

import asyncio

from agent.records.background import BackgroundTasks


async def test_finished_tasks_are_forgotten_and_settle_cancels_the_rest():
    tasks = BackgroundTasks()
    done = tasks.spawn(asyncio.sleep(0), "quick")
    stuck = tasks.spawn(asyncio.Event().wait(), "stuck")
    await done
    await asyncio.sleep(0)  # the done callback runs
    assert len(tasks) == 1
    assert await tasks.settle(timeout=0.01) == 1
    assert stuck.cancelled() and len(tasks) == 0
    assert await tasks.settle(timeout=0.01) == 0  # nothing left: at once
