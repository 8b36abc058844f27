"""Scale-out: two server processes on one port (WEB_CONCURRENCY=2, SO_REUSEPORT) share the calls.

`python -m agent serve` with WEB_CONCURRENCY=2 starts two workers that bind the same port; the
kernel spreads connections across them. Calls are placed through the port until both workers
have answered some (each worker's own /metrics, read on a connection whose /health named its
pid); then SIGTERM to the parent is forwarded to both, a live call is drained, and all three
processes exit 0.
"""

from __future__ import annotations

import asyncio
import re
import signal

import aiohttp

from agent.sim.script import HangUp, Pause, WaitForAgentAudio, WaitForAgentSilence
from tests.e2e.test_serve_process import Server, assert_no_secrets, process_env

DRAIN_SECONDS = 1.0
BATCH = 4  # calls placed at once; batches until both workers have answered calls
MAX_BATCHES = 5


async def _worker_view(base_url: str) -> tuple[int, float]:
    """(pid, finished calls) of whichever worker accepts a fresh connection: /health and
    /metrics go over that one kept-alive connection, so both come from the same process."""
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(base_url + "/health") as resp:
            pid = (await resp.json())["pid"]
        async with http.get(base_url + "/metrics") as resp:
            text = await resp.text()
    calls = sum(
        float(v) for v in re.findall(r"^switchboard_calls_total\{[^}]*\} (\S+)$", text, re.M)
    )
    return pid, calls


async def _calls_by_worker(base_url: str, probes: int = 40) -> dict[int, float]:
    seen: dict[int, float] = {}
    for _ in range(probes):
        pid, calls = await _worker_view(base_url)
        seen[pid] = calls
        if len(seen) == 2 and all(seen.values()):
            break
    return seen


def _short_call() -> list:
    return [WaitForAgentAudio(timeout=15), WaitForAgentSilence(pause=0.2, timeout=15), HangUp()]


async def test_two_processes_on_one_port_share_calls_and_drain(fakes, tmp_path):
    env = process_env(
        fakes,
        WEB_CONCURRENCY="2",
        DRAIN_SECONDS=str(DRAIN_SECONDS),
        LOG_LEVEL="INFO",
        DATABASE_URL=f"sqlite:///{tmp_path}/calls.db",  # one record store for both workers
    )
    server = await Server(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            await server.wait_healthy(http)
        # Both workers up: fresh connections reach two different pids.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        pids: set[int] = set()
        while len(pids) < 2:
            assert loop.time() < deadline, f"one worker only ({pids}):\n{server.output[-3000:]}"
            try:
                pids.add((await _worker_view(server.base_url))[0])
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
        assert server.proc.pid not in pids  # the parent supervises, the workers serve

        emulator = server.emulator()
        by_worker: dict[int, float] = {}
        placed = 0
        for _ in range(MAX_BATCHES):
            results = await asyncio.gather(
                *(emulator.place_call(_short_call(), max_duration=30) for _ in range(BATCH))
            )
            placed += BATCH
            for result in results:
                assert not result.timeouts and result.closed_by == "caller", (
                    result.timeouts,
                    server.output[-3000:],
                )
                assert result.heard_duration_s() > 1.0  # the greeting played
            by_worker = await _calls_by_worker(server.base_url)
            if len(by_worker) == 2 and all(by_worker.values()):
                break
        # A worker counts a call once it has wrapped it up (records included), which can
        # trail the caller's hang-up by a moment.
        deadline = loop.time() + 5
        while sum(by_worker.values()) < placed and loop.time() < deadline:
            await asyncio.sleep(0.1)
            by_worker = await _calls_by_worker(server.base_url)
        assert set(by_worker) == pids, (by_worker, pids)
        assert all(by_worker.values()), f"a worker answered no calls: {by_worker}"
        assert sum(by_worker.values()) == placed, (by_worker, placed)

        # SIGTERM to the parent: both workers drain (a live call is ended after
        # DRAIN_SECONDS) and exit 0, and so does the parent.
        connections_before = fakes.deepgram.connection_count
        live = asyncio.create_task(
            emulator.place_call([WaitForAgentAudio(timeout=15), Pause(60)], max_duration=60)
        )
        deadline = loop.time() + 20
        while fakes.deepgram.connection_count == connections_before:  # its pipeline runs
            assert loop.time() < deadline and not live.done(), server.output[-3000:]
            await asyncio.sleep(0.1)
        server.proc.send_signal(signal.SIGTERM)
        result = await asyncio.wait_for(live, DRAIN_SECONDS + 20)
        assert result.closed_by == "server", result.timeline[-5:]
        assert await server.wait(30) == 0, server.output[-3000:]
    finally:
        await server.stop()
    output = server.output
    for pid in pids:
        assert f"worker {pid} exited 0 (after the signal)" in output, output[-3000:]
    assert output.count("signal received: draining") == 2, output[-3000:]
    assert "call ended: drained" in output
    assert_no_secrets(output, env)
