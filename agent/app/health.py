"""`GET /health` and `GET /metrics`: what a load balancer and Prometheus ask.

GET /health    JSON status, active calls, load, version, graphs (503 while draining)
GET /metrics   Prometheus text format (agent/app/metrics.py)
"""

from __future__ import annotations

import os

from aiohttp import web

from agent import __version__
from agent.app.metrics import Metrics
from agent.app.services import SERVICES


async def handle_health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.config.max_calls
    body = {
        "status": "draining" if services.draining else "ok",
        "version": __version__,
        "pid": os.getpid(),  # which worker answered (WEB_CONCURRENCY > 1)
        "active_calls": len(services.calls),
        "max_calls": limit,
        # what a platform router can shed on: 1.0 means this process takes no more calls
        "load": round(len(services.calls) / limit, 3) if limit > 0 else 0.0,
        "graphs": sorted(services.graphs),
    }
    return web.json_response(body, status=503 if services.draining else 200)


async def handle_metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    services.metrics.active_calls.set(len(services.calls))
    return web.Response(
        body=services.metrics.render(), headers={"Content-Type": Metrics.content_type}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", handle_health)
    app.router.add_get("/metrics", handle_metrics)
