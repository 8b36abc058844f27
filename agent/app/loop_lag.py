"""Opt-in event-loop lag probe: how late the server's asyncio loop wakes from a short sleep.

Off by default. With `SWITCHBOARD_LOOP_LAG_PROBE=1` in the environment, `python -m agent serve`
runs one task that sleeps `PERIOD_S` (10 ms) at a time and records how much later than asked
it woke up in the histogram `switchboard_loop_lag_seconds` on `/metrics`. A loop that is busy
(per-frame work of many calls, a blocking call) wakes late: that lateness is what every timer
of every call (the pacer's clock, VAD and turn timeouts) suffers at that moment.

The pacing benchmark turns it on for our server and for the pipecat reference
(`bench/reference_server.py` runs the same probe) and reads p99 from the histogram's buckets.
It costs one wake-up per 10 ms.
"""

from __future__ import annotations

import asyncio
import os
import time

ENV_VAR = "SWITCHBOARD_LOOP_LAG_PROBE"
PERIOD_S = 0.01
METRIC = "switchboard_loop_lag_seconds"
# Fine at the low end (a healthy loop lags well under 5 ms), coarse where it has collapsed.
BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


def enabled(environ=None) -> bool:
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


class LoopLagProbe:
    """Samples the running loop's wake-up lateness into a Prometheus histogram."""

    def __init__(self, registry, period_s: float = PERIOD_S) -> None:
        from prometheus_client import Histogram

        self.period_s = period_s
        self.histogram = Histogram(
            METRIC,
            f"How late the event loop woke from a {period_s * 1000:.0f} ms sleep "
            f"(opt-in: {ENV_VAR}=1)",
            buckets=BUCKETS,
            registry=registry,
        )
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        observe, period = self.histogram.observe, self.period_s
        while True:
            start = time.perf_counter()
            await asyncio.sleep(period)
            observe(max(0.0, time.perf_counter() - start - period))

    def start(self) -> LoopLagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-probe")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def start_if_enabled(registry) -> LoopLagProbe | None:
    """Start the probe on the running loop when the environment asks for it."""
    return LoopLagProbe(registry).start() if enabled() else None
