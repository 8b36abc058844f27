"""The aiohttp application: TwiML webhooks, the Twilio media stream, health and metrics.

Routes
    GET  /health                  JSON status, active calls, version (503 while draining)
    GET  /metrics                 Prometheus text format
    GET|POST /twiml, /incoming-call   TwiML <Connect><Stream> for a call (signed by Twilio)
    GET  /ws                      the Twilio media stream WebSocket (signed upgrade)
    GET  /calls, /calls/{call_sid}   call records as JSON (bearer ADMIN_TOKEN; agent/app/records_api.py)

`create_app(config)` validates every graph (strictly: the keys they need must be set) and
refuses to build an app with an invalid one. On startup it checks the Groq models the graphs
name. `drain(app)` is what SIGTERM runs: stop taking calls, let live ones finish for up to
DRAIN_SECONDS, then end them.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from loguru import logger
from twilio.twiml.voice_response import Connect, Hangup, Say, Stream, VoiceResponse

from agent import __version__
from agent.app import records_api
from agent.app.call_session import CallSession
from agent.app.metrics import Metrics
from agent.app.services import SERVICES, Services
from agent.config import Config
from agent.graph import Graph, load_servable_graphs
from agent.twilio import signatures
from agent.twilio.protocol import MAX_MESSAGE_BYTES
from agent.twilio.send_clock import loop_clock
from agent.twilio.ws_bridge import WebSocketBridge

GOODBYE_GRACE_S = 6.0  # drain: after the live calls' time is up, for their goodbyes
WS_HARD_LIMIT_BYTES = MAX_MESSAGE_BYTES * 4  # aiohttp closes the stream beyond this
BUSY_MESSAGE = "Sorry, we can't take your call right now. Please call back in a minute."


def _twiml_response(xml: str) -> web.Response:
    return web.Response(text=xml, content_type="application/xml")


async def handle_health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.config.max_calls
    body = {
        "status": "draining" if services.draining else "ok",
        "version": __version__,
        "pid": __import__("os").getpid(),  # which worker answered (WEB_CONCURRENCY > 1)
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


async def handle_twiml(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    config = services.config
    form = dict(await request.post()) if request.method == "POST" else {}
    if not signatures.is_valid(request, config, form):
        services.metrics.webhook_requests.labels("bad_signature").inc()
        logger.warning(f"webhook {request.path}: missing or invalid X-Twilio-Signature")
        raise web.HTTPForbidden(text="invalid Twilio signature")

    graph = request.query.get("graph") or config.default_graph
    if graph not in services.graphs:
        from agent.graph import find_graph_hint

        services.metrics.webhook_requests.labels("unknown_graph").inc()
        hint = find_graph_hint(graph, list(services.graphs))
        raise web.HTTPBadRequest(
            text=f"unknown graph {graph!r}{hint}; available: {', '.join(sorted(services.graphs))}"
        )

    response = VoiceResponse()
    limit = config.max_calls
    at_capacity = limit > 0 and len(services.calls) >= limit
    if services.draining or at_capacity:
        services.metrics.webhook_requests.labels("busy").inc()
        if at_capacity:
            services.metrics.calls_rejected.labels("capacity").inc()
            logger.warning(f"at capacity ({limit} calls): caller gets the busy message")
        response.append(Say(BUSY_MESSAGE))
        response.append(Hangup())
        return _twiml_response(str(response))

    query = request.query
    caller = str(form.get("From") or query.get("From") or "")
    called = str(form.get("To") or query.get("To") or "")
    stream = Stream(url=f"{signatures.public_base(request, config, websocket=True)}/ws")
    stream.parameter(name="graph", value=graph)
    stream.parameter(name="from", value=caller)
    stream.parameter(name="to", value=called)
    connect = Connect()
    connect.append(stream)
    response.append(connect)  # nothing follows <Connect>: when the stream ends, the call ends
    services.metrics.webhook_requests.labels("ok").inc()
    return _twiml_response(str(response))


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
    # The call runs in its own task: if aiohttp cancels this handler when the peer vanishes
    # (handler_cancellation=True), the call still ends properly and records its outcome.
    call = asyncio.create_task(_run_call(services, session), name="call-session")
    try:
        await asyncio.shield(call)
    except asyncio.CancelledError:
        await asyncio.wait({call}, timeout=5.0)
        raise
    return ws


async def _run_call(services: Services, session: CallSession) -> None:
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


async def drain(app: web.Application, grace_s: float | None = None) -> None:
    """Stop taking calls; let live calls finish for up to `grace_s`; then end the rest."""
    services = app[SERVICES]
    services.draining = True
    grace = services.config.drain_seconds if grace_s is None else grace_s
    logger.info(f"draining: {len(services.calls)} live call(s), up to {grace:.0f}s")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while services.calls and loop.time() < deadline:
        await asyncio.sleep(0.1)
    for session in list(services.calls):
        await session.end("drained", goodbye=True)
    # Long enough for a cached goodbye to play (2-3 s) and the REST hang-up; with the default
    # DRAIN_SECONDS (20) the process is gone well within Heroku's 30 s.
    deadline = loop.time() + GOODBYE_GRACE_S
    while services.calls and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for session in list(services.calls):
        await session.cancel("drained")
    from agent.twilio.serializer import wait_for_hangups

    if left := await wait_for_hangups(timeout=4.0):
        logger.warning(f"draining: {left} REST hang-up(s) still retrying; giving up on them")


async def _check_providers(app: web.Application) -> None:
    from agent.graph import provider_checks

    for check in provider_checks(app[SERVICES].graphs, app[SERVICES].config):
        await check()


async def _warm_up(app: web.Application) -> None:
    """Build every graph once, unused, so the first call does not pay for imports and models.

    The first build of a graph imports pipecat's services and loads shared models (~0.6 s of
    blocking work); done here it delays readiness instead of the first caller's greeting, and a
    graph that cannot be built stops the server at start rather than failing a call.
    """
    import time

    from agent.graph import BuildContext, CallInfo, build_graph

    services = app[SERVICES]
    started = time.monotonic()
    for graph in services.graphs.values():
        call = CallInfo("CAwarmup", "MZwarmup", None, None, None)
        build_graph(graph, BuildContext(services.config, graph, call, services.shared))
    logger.info(f"graphs built once in {time.monotonic() - started:.2f}s (warm-up)")


async def _end_calls_on_shutdown(app: web.Application) -> None:
    if app[SERVICES].calls:
        await drain(app, grace_s=0)


async def _call_records(app: web.Application):
    """Call records (agent/records): the database, its writer, extraction, webhooks."""
    from agent.records import runtime as records

    services = app[SERVICES]
    runtime = None
    if records.wanted(services.config, services.graphs):
        runtime = await records.RecordsRuntime.start(
            services.config, services.graphs, services.metrics
        )
        services.shared[records.RUNTIME_KEY] = runtime
    yield
    if runtime is not None:
        await runtime.close()
        services.shared.pop(records.RUNTIME_KEY, None)


def create_app(
    config: Config,
    *,
    graphs: dict[str, Graph] | None = None,
    check_providers: bool = True,
    warm_up: bool = True,
) -> web.Application:
    """The aiohttp app. Raises GraphError (every problem) if a graph is invalid."""
    if graphs is None:
        graphs, skipped = load_servable_graphs(
            config.graphs_dir, config, config.default_graph, only=config.graphs
        )
        for name, problems in skipped.items():
            logger.warning(f"not serving graph '{name}': {problems[0].message}")
    if config.default_graph not in graphs:
        from agent.errors import GraphNotFound

        raise GraphNotFound(config.default_graph, sorted(graphs))
    app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
    app[SERVICES] = Services(config=config, graphs=graphs)
    app.router.add_get("/health", handle_health)
    app.router.add_get("/metrics", handle_metrics)
    for path in ("/twiml", "/incoming-call"):
        app.router.add_route("GET", path, handle_twiml)
        app.router.add_route("POST", path, handle_twiml)
    app.router.add_get("/ws", handle_ws)
    records_api.add_routes(app)
    app.cleanup_ctx.append(_call_records)  # before the first call, closed after the last
    if check_providers:
        app.on_startup.append(_check_providers)
    if warm_up:
        app.on_startup.append(_warm_up)
    app.on_shutdown.append(_end_calls_on_shutdown)
    return app
