"""Running processors in a pipecat worker on a fake clock, step by step (shared by the call
controller, hold music and warm-transfer accept tests).

    await run_steps(clock, [processor, ..., recorder], steps, target=processor)

Each step: a number advances the clock by that many seconds; a callable is awaited with
`target`; anything else is a frame queued into the worker. The worker ends (EndFrame) if it
has not ended itself, and the function returns once it has.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import EndFrame

from agent.adapters import engine
from processors.clock import FakeClock


async def run_steps(clock: FakeClock, processors: list, steps: list, *, target=None) -> None:
    worker = engine.make_worker(processors)
    runner = asyncio.ensure_future(engine.run_worker(worker))
    await clock.settle()
    for step in steps:
        if isinstance(step, (int, float)):
            await clock.advance(step)
        elif callable(step):
            await step(target)
            await clock.settle()
        else:
            await worker.queue_frame(step)
            await clock.settle()
    if not runner.done():
        await worker.queue_frame(EndFrame())
    await clock.run_until(runner)
