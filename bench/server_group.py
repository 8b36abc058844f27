"""Several benchmark servers of one side read as one (`bench.pacing --processes N`).

Each member is its own process on its own port (`harness.ServerProcess`), and the calls are
dealt out between them: the scale-out shape (`WEB_CONCURRENCY` processes) measured as one
server. CPU and RSS are the members' sums, histograms their merged counts, so the level's
numbers read like a single server's. (The real `WEB_CONCURRENCY` shares one port, where a
`/metrics` scrape reaches only one worker: tests/e2e/test_scale_out.py tests that shape.)
No psutil here: the members bring their own readings.
"""

from __future__ import annotations

import asyncio


class ServerGroup:
    """Servers of one side, each its own process, read as one (module doc)."""

    def __init__(self, members: list):
        self.members = members
        self.side = members[0].side
        self.rss_max_mb = 0.0
        self.start_to_healthy_s = max(m.start_to_healthy_s for m in members)

    @property
    def base_urls(self) -> list[str]:
        return [m.base_url for m in self.members]

    def cpu_s(self) -> float:
        return sum(m.cpu_s() for m in self.members)

    def rss_mb(self) -> float:
        return sum(m.rss_mb() for m in self.members)

    def sample_rss(self) -> None:
        self.rss_max_mb = max(self.rss_max_mb, self.rss_mb())

    async def wait_idle(self, timeout: float = 20.0) -> bool:
        done = await asyncio.gather(*(m.wait_idle(timeout) for m in self.members))
        return all(done)

    async def histograms(self, *metrics: str) -> dict[str, dict[float, float]]:
        merged: dict[str, dict[float, float]] = {}
        for found in await asyncio.gather(*(m.histograms(*metrics) for m in self.members)):
            for metric, buckets in found.items():
                into = merged.setdefault(metric, {})
                for le, count in buckets.items():
                    into[le] = into.get(le, 0.0) + count
        return merged

    def log_problems(self) -> list[str]:
        return [line for m in self.members for line in m.log_problems()]

    async def stop(self, timeout: float = 15.0) -> None:
        await asyncio.gather(*(m.stop(timeout) for m in self.members))
