"""`python -m agent serve [--port N]`: run the HTTP/WebSocket server.

With WEB_CONCURRENCY > 1 this process only supervises that many single-process workers on
one port (agent/app/supervisor.py); otherwise it serves (agent/app/process.py) on the event
loop EVENT_LOOP names: uvloop (the default; docs/decisions/uvloop.md) or asyncio's.
With no provider keys, the default graph becomes the local one (agent/local_mode.py).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from loguru import logger

from agent.app.supervisor import supervise
from agent.cli.common import load_config
from agent.local_mode import choose_default_graph
from agent.logging_setup import setup_logging


def add_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--port", type=int, default=None, help="port (default: $PORT or 8080)")


def main(args: argparse.Namespace) -> int:
    started_at = time.monotonic()
    config = load_config()
    if args.port is not None:
        config = config.with_overrides(port=args.port)
    setup_logging(config.log_format, config.log_level, config.secret_values())
    if config.web_concurrency > 1:  # N workers on one port (SO_REUSEPORT), this one supervises
        return supervise(config.web_concurrency, args.port)
    config, local_line = choose_default_graph(config)
    if local_line:
        logger.info(local_line)
    # Lazily, so that the supervisor above never loads the app (pipecat, models) it never runs.
    from agent.app import process

    return run_event_loop(process.serve(config, started_at), config.event_loop)


def run_event_loop(main, event_loop: str):
    """Run `main` to completion on uvloop (EVENT_LOOP=uvloop) or asyncio's loop."""
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not built for this platform (Windows): the standard loop
            logger.warning("EVENT_LOOP=uvloop but uvloop is not installed; using asyncio")
        else:
            return uvloop.run(main)
    return asyncio.run(main)
