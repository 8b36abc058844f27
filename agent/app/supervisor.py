"""`WEB_CONCURRENCY` > 1: run that many `python -m agent serve` workers on one port.

Each worker is an ordinary single-process server (`WEB_CONCURRENCY=1` in its environment):
it binds the port with SO_REUSEPORT (agent/app/process.py `serve`), so the kernel spreads new
connections (webhooks and media streams alike) across the workers, and each worker carries
its own calls from start to end. Nothing a call needs lives in another worker: records go
to `DATABASE_URL`, models and HTTP sessions are per process.

The parent only supervises: it forwards SIGTERM and SIGINT to every worker (each drains on
its own, like a single server), restarts nothing, and exits 0 when every worker exited 0,
otherwise with the first non-zero exit code it saw (a worker refusing to start exits 2).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from loguru import logger


def _die_with_parent() -> None:
    """In the worker, before exec: on Linux, get SIGTERM (drain) if the supervisor dies, even
    by SIGKILL, so no worker is ever left serving on its own."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(workers: int, port: int | None = None) -> int:
    argv = [sys.executable, "-m", "agent", "serve"]
    if port is not None:
        argv += ["--port", str(port)]
    env = {**os.environ, "WEB_CONCURRENCY": "1"}
    procs: list[subprocess.Popen] = []
    signalled: list[int] = []

    def forward(signum, _frame) -> None:
        signalled.append(signum)
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            procs.append(subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent))
        logger.info(
            f"supervisor {os.getpid()}: {workers} workers sharing the port "
            f"(pids {', '.join(str(p.pid) for p in procs)})"
        )
        codes: dict[int, int] = {}
        while len(codes) < len(procs):
            for proc in procs:
                if proc.pid not in codes and (code := proc.poll()) is not None:
                    codes[proc.pid] = code
                    how = "after the signal" if signalled else "on its own"
                    log = logger.info if code == 0 else logger.error
                    log(f"worker {proc.pid} exited {code} ({how})")
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for proc in procs:  # only if the supervisor itself failed: leave no orphans
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failed = [code for code in codes.values() if code != 0]
    logger.info(f"supervisor: all {workers} workers stopped")
    if not failed:
        return 0
    return failed[0] if failed[0] > 0 else 1  # killed by a signal: 1
