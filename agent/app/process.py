"""One server process's life: build the app, listen, run until SIGTERM/SIGINT, drain, stop.

`serve(config, started_at)` returns the process exit code: 2 when the app refuses to start
(an invalid graph, a provider check failing, the port taken), with one line saying why;
0 after a drain. Once listening, start-up objects are frozen out of the collector and live
calls' objects are frozen while they last (agent/app/gc_tuning.py); the loop lag probe
runs if SWITCHBOARD_LOOP_LAG_PROBE=1 (agent/app/loop_lag.py).
"""

from __future__ import annotations

import asyncio
import signal
import time

from aiohttp import web
from loguru import logger

from agent.app.gc_tuning import CallFreezer, GcPauseWatch, freeze_startup_objects
from agent.app.loop_lag import start_if_enabled
from agent.app.server import SERVICES, create_app, drain
from agent.config import Config
from agent.errors import ConfigError, GraphError


async def serve(config: Config, started_at: float) -> int:
    """Serve until a signal, then drain; the exit code."""
    try:
        app = create_app(config)
    except (GraphError, ConfigError) as exc:
        logger.error(f"refusing to start:\n{exc}")
        return 2
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
    except Exception as exc:  # provider checks on startup (e.g. unknown Groq model)
        logger.error(f"refusing to start: {exc}")
        return 2
    site = web.TCPSite(runner, config.host, config.port, reuse_port=True)
    try:
        await site.start()
    except OSError as exc:  # e.g. the port is taken: say so instead of a traceback
        logger.error(f"refusing to start: cannot listen on {config.host}:{config.port}: {exc}")
        await runner.cleanup()
        return 2
    services = app[SERVICES]
    logger.info(
        f"switchboard listening on {config.host}:{config.port} "
        f"(graphs: {', '.join(sorted(services.graphs))}; "
        f"ready in {time.monotonic() - started_at:.2f}s)"
    )
    frozen = freeze_startup_objects()  # start-up objects out of every later collection
    logger.debug(f"gc: {frozen} start-up objects frozen")
    # ...and live calls' objects, thawed now and then.
    services.gc = CallFreezer(lambda: len(services.calls))
    GcPauseWatch(services.metrics.registry).install()
    probe = start_if_enabled(services.metrics.registry)  # SWITCHBOARD_LOOP_LAG_PROBE=1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("signal received: draining")
    await drain(app)
    if probe is not None:
        await probe.stop()
    await runner.cleanup()
    logger.info("stopped")
    return 0
