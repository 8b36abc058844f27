"""`GET /ws`: Twilio's media stream for one call, a signed WebSocket upgrade.

The upgrade is refused (403) without a valid `X-Twilio-Signature` and (503) while draining.
Each accepted socket becomes a `CallSession` (agent/app/call_session.py) running in its own
task, registered in `Services.calls` while it lives.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from loguru import logger

from agent.app.call_session import CallSession
from agent.app.services import SERVICES, Services
from agent.twilio import signatures
from agent.twilio.protocol import WS_HARD_LIMIT_BYTES
from agent.twilio.send_clock import loop_clock
from agent.twilio.ws_bridge import WebSocketBridge


async def handle_ws(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not signatures.is_valid(request, services.config, {}, websocket=True):
        services.metrics.calls_rejected.labels("bad_signature").inc()
        logger.warning("media stream upgrade: missing or invalid X-Twilio-Signature")
        raise web.HTTPForbidden(text="invalid Twilio signature")
    if services.draining:
        services.metrics.calls_rejected.labels("draining").inc()
        raise web.HTTPServiceUnavailable(text="draining")

    # Two limits. A message over MAX_MESSAGE_BYTES (64 KiB; Twilio's are ~0.3 KiB) reaches the
    # protocol parser, which drops and counts it (`too_large`) while the call goes on. Only
    # one over WS_HARD_LIMIT_BYTES is refused by aiohttp itself (close 1009, ending the call),
    # so a broken or hostile peer cannot make us buffer megabytes.
    ws = web.WebSocketResponse(max_msg_size=WS_HARD_LIMIT_BYTES, heartbeat=None)
    await ws.prepare(request)
    # The call's messages leave through the process's send clock (agent/twilio/send_clock.py).
    bridge = WebSocketBridge(ws, loop_clock(), request.transport)
    session = CallSession(bridge, services)
    session.public_base = signatures.public_base(request, services.config)
    # The call runs in its own task: if aiohttp cancels this handler when the peer vanishes
    # (handler_cancellation=True), the call still ends properly and records its outcome.
    call = asyncio.create_task(run_call(services, session), name="call-session")
    try:
        await asyncio.shield(call)
    except asyncio.CancelledError:
        await asyncio.wait({call}, timeout=5.0)
        raise
    return ws


async def run_call(services: Services, session: CallSession) -> None:
    """Run one call, counted among the live calls while it lasts."""
    services.calls.add(session)
    services.metrics.active_calls.set(len(services.calls))
    if services.gc is not None:
        services.gc.call_started()
    try:
        await session.run()
    finally:
        if session.bridge.outlet is not None:
            session.bridge.outlet.close()  # however the call ended
        services.calls.discard(session)
        services.metrics.active_calls.set(len(services.calls))
        if services.gc is not None:
            services.gc.call_ended()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws", handle_ws)
