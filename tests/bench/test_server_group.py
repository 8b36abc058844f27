"""bench/server_group.py: two server processes' readings add up to one server's."""

from __future__ import annotations

import pytest

from bench.server_group import ServerGroup

LAG = "switchboard_loop_lag_seconds"
LATE = "switchboard_pacer_send_lateness_seconds"


class Member:
    """A stand-in for harness.ServerProcess: fixed readings, and whether it was stopped."""

    def __init__(self, port: int, cpu_s: float, rss_mb: float, histograms: dict):
        self.side = "ours"
        self.base_url = f"http://127.0.0.1:{port}"
        self.start_to_healthy_s = port / 10000
        self._cpu_s, self.rss, self._histograms = cpu_s, rss_mb, histograms
        self.stopped = False

    def cpu_s(self) -> float:
        return self._cpu_s

    def rss_mb(self) -> float:
        return self.rss

    async def wait_idle(self, timeout: float = 20.0) -> bool:
        return self.base_url.endswith("1")

    async def histograms(self, *metrics: str) -> dict:
        return {m: b for m, b in self._histograms.items() if m in metrics}

    def log_problems(self) -> list[str]:
        return [f"WARNING from {self.base_url}"]

    async def stop(self, timeout: float = 15.0) -> None:
        self.stopped = True


async def test_readings_are_summed_merged_and_kept_per_member():
    a = Member(9001, 5.0, 300.0, {LAG: {0.01: 10, float("inf"): 12}, LATE: {0.005: 4}})
    b = Member(9002, 7.5, 310.0, {LAG: {0.01: 3, float("inf"): 8}})
    group = ServerGroup([a, b])

    assert group.base_urls == ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
    assert group.start_to_healthy_s == pytest.approx(0.9002)  # the slower start
    assert group.cpu_s() == 12.5
    group.sample_rss()
    a.rss = 400.0  # one member's peak later: the group's peak is of the sum at one instant
    group.sample_rss()
    assert group.rss_max_mb == 710.0
    # Bucket counts add up; a metric only one member has is kept as that member's.
    assert await group.histograms(LAG, LATE) == {
        LAG: {0.01: 13, float("inf"): 20},
        LATE: {0.005: 4},
    }
    assert group.log_problems() == [
        "WARNING from http://127.0.0.1:9001",
        "WARNING from http://127.0.0.1:9002",
    ]
    assert await group.wait_idle() is False  # idle only when every member is
    await group.stop()
    assert a.stopped and b.stopped
