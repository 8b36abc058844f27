"""What benchmarks share: servers in subprocesses, CPU accounting, event-loop lag, machine facts.

- `start_server(side, fakes_env)` runs our server (`python -m agent serve`) or the pipecat-only
  reference (`python -m bench.reference_server`) on a free local port, pointed at the provider
  fakes, logs to a temporary file, and waits for `GET /health`. `ServerProcess.stop()` sends
  SIGTERM to that one process (then SIGKILL to it if it does not exit).
- `CpuMeter` reads CPU seconds of the server process (psutil), of this process (getrusage:
  the fakes and the emulator live here), and of the whole machine (/proc/stat), so what other
  programs used in the meantime is visible too.
- `LoopLag` measures how late this process's event loop wakes up: when it lags, the
  emulator's arrival timestamps are late too, and its jitter numbers say so. The server's own
  loop lag comes from its opt-in probe (`SWITCHBOARD_LOOP_LAG_PROBE=1`, agent/app/loop_lag.py;
  the reference runs the same probe): `ServerProcess.histograms()` reads it (and our pacer's
  send lateness) from `/metrics`, `histogram_quantile` turns two readings into a percentile.
- `ServerProcess` also knows how long the process took from spawn to `/health` 200
  (`start_to_healthy_s`) and samples its RSS (`rss_mb`, `rss_max_mb`).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bench.server_group import ServerGroup

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_HOST = "bench.switchboard.test"
SIDES = ("ours", "reference")
DUMMY_KEYS = {
    "DEEPGRAM_API_KEY": "dg-bench-key",
    "GROQ_API_KEY": "gsk-bench-key",
    "CARTESIA_API_KEY": "sk-cartesia-bench-key",
}
# Our server always runs with the dashboard on (as an owner's would), so that a run with a
# browser on Live (`bench.pacing --watch-live`) differs from a plain one by the browser only.
BENCH_ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    side: str
    port: int
    proc: subprocess.Popen
    log_path: Path
    ps: psutil.Process
    rss_max_mb: float = 0.0
    start_to_healthy_s: float = 0.0  # spawn -> first GET /health 200 (polled every 50 ms)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_urls(self) -> list[str]:
        return [self.base_url]

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        try:
            return self.ps.memory_info().rss / 2**20
        except psutil.Error:
            return 0.0

    def sample_rss(self) -> None:
        self.rss_max_mb = max(self.rss_max_mb, self.rss_mb())

    async def health(self, http: aiohttp.ClientSession) -> dict | None:
        try:
            async with http.get(f"{self.base_url}/health") as resp:
                return await resp.json() if resp.status == 200 else None
        except (aiohttp.ClientError, ValueError):
            return None

    async def wait_idle(self, timeout: float = 20.0) -> bool:
        """Wait until /health reports no active calls (calls end after their callers hang up)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                body = await self.health(http)
                if body is not None and body.get("active_calls") == 0:
                    return True
                await asyncio.sleep(0.2)
        return False

    async def histograms(self, *metrics: str) -> dict[str, dict[float, float]]:
        """Histograms from `/metrics`: name -> cumulative counts by upper bound (seconds).
        A metric the server does not have (the reference has no pacer) is left out."""
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{self.base_url}/metrics") as resp:
                    text = await resp.text()
        except aiohttp.ClientError:
            return {}
        found: dict[str, dict[float, float]] = {}
        for metric in metrics:
            pattern = rf'^{metric}_bucket\{{le="([^"]+)"\}} (\S+)$'
            for le, value in re.findall(pattern, text, re.M):
                found.setdefault(metric, {})[float(le)] = float(value)  # "+Inf" -> inf
        return found

    def log_problems(self) -> list[str]:
        """WARNING/ERROR lines the server wrote (its log level is WARNING)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if "WARNING" in line or "ERROR" in line]

    async def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


async def start_servers(
    side: str, fakes_env: dict[str, str], log_dir: Path, processes: int = 1
) -> ServerProcess | ServerGroup:
    """One server process, or a ServerGroup of `processes` of them started side by side."""
    if processes == 1:
        return await start_server(side, fakes_env, log_dir)
    started = await asyncio.gather(
        *(start_server(side, fakes_env, log_dir) for _ in range(processes)),
        return_exceptions=True,
    )
    members = [s for s in started if isinstance(s, ServerProcess)]
    if len(members) < processes:
        await asyncio.gather(*(m.stop() for m in members))
        raise next(s for s in started if isinstance(s, BaseException))
    return ServerGroup(members)


def server_env(side: str, fakes_env: dict[str, str], port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(fakes_env)
    env.update(DUMMY_KEYS)
    env.update(
        {
            "PUBLIC_HOST": PUBLIC_HOST,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "GRAPHS_DIR": str(ROOT / "graphs"),
            "DEFAULT_GRAPH": "receptionist",
            # Only the graph under test: not the local graph's Whisper and Piper (~200 MB).
            "GRAPHS": "receptionist",
            # No signatures on either side: the reference checks none, and the emulator then
            # signs nothing. (Empty means unset for our config loader.)
            "TWILIO_AUTH_TOKEN": "",
            "PYTHONUNBUFFERED": "1",
            # One process carrying every call of the level: no busy answers, no workers.
            "MAX_CALLS": "0",
            "WEB_CONCURRENCY": "1",
            # Both servers run the same loop-lag probe (agent/app/loop_lag.py) and show it on /metrics.
            "SWITCHBOARD_LOOP_LAG_PROBE": "1",
        }
    )
    return env


async def start_server(side: str, fakes_env: dict[str, str], log_dir: Path) -> ServerProcess:
    port = free_port()
    if side == "ours":
        argv = [sys.executable, "-m", "agent", "serve", "--port", str(port)]
    elif side == "reference":
        argv = [sys.executable, "-m", "bench.reference_server", "--port", str(port)]
    else:
        raise ValueError(f"unknown side {side!r}")
    log_path = log_dir / f"{side}-{port}.log"
    env = server_env(side, fakes_env, port)
    env["DATABASE_URL"] = f"sqlite:///{log_dir / f'calls-{side}-{port}.db'}"  # not the repo's
    if side == "ours":
        env["ADMIN_TOKEN"] = BENCH_ADMIN_TOKEN
    spawned = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = ServerProcess(side, port, proc, log_path, psutil.Process(proc.pid))
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{side} server exited with {proc.returncode}; log:\n{log_path.read_text()}"
                )
            try:
                async with http.get(f"{server.base_url}/health") as resp:
                    if resp.status == 200:
                        server.start_to_healthy_s = time.monotonic() - spawned
                        return server
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    await server.stop()
    raise RuntimeError(f"{side} server not healthy after 90 s; log: {log_path}")


def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="switchboard-bench-"))


def machine_speed_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes here and now (best of three; ~40 ms on a
    quiet machine of these). A virtual machine's share of its cores varies with its
    neighbours: ten times this loop took 0.54-0.91 s within minutes on 2026-12-05, which no
    load average or CPU count shows. Larger means every number of the run is slower."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuMeter:
    """CPU seconds used between start() and stop(): server, this process, everything else."""

    server: ServerProcess | ServerGroup
    wall_s: float = 0.0
    server_s: float = 0.0
    bench_s: float = 0.0
    machine_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    speed_ms: tuple[float, float] = (0.0, 0.0)  # machine_speed_ms() before, after
    _start: tuple = field(default=(), repr=False)

    def start(self) -> None:
        self.load_before = os.getloadavg()
        self.speed_ms = (machine_speed_ms(), 0.0)
        self._start = (time.monotonic(), self.server.cpu_s(), _self_cpu_s(), _machine_busy_s())

    def stop(self) -> None:
        wall, server, bench, machine = self._start
        self.wall_s = time.monotonic() - wall
        self.server_s = self.server.cpu_s() - server
        self.bench_s = _self_cpu_s() - bench
        self.machine_s = _machine_busy_s() - machine
        self.load_after = os.getloadavg()
        self.speed_ms = (self.speed_ms[0], machine_speed_ms())

    @property
    def other_s(self) -> float:
        """CPU used by other programs meanwhile (other engineers' tests, the OS)."""
        return max(0.0, self.machine_s - self.server_s - self.bench_s)


class LoopLag:
    """Samples how late this event loop wakes from a 10 ms sleep (and samples server RSS)."""

    def __init__(
        self, server: ServerProcess | ServerGroup | None = None, period_s: float = 0.01
    ) -> None:
        self.period_s = period_s
        self.server = server
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_rss = 0.0
        while True:
            t = loop.time()
            await asyncio.sleep(self.period_s)
            now = loop.time()
            self.samples.append(max(0.0, now - t - self.period_s))
            if self.server is not None and now - last_rss >= 0.5:
                last_rss = now
                self.server.sample_rss()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def histogram_quantile(
    q: float, before: dict[float, float], after: dict[float, float]
) -> float | None:
    """The q-quantile (0-1) of what a Prometheus histogram observed between two readings,
    interpolated linearly within the bucket (as PromQL's histogram_quantile); None if empty.
    In the +Inf bucket it answers the largest finite bound."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower
