"""The aiohttp application: its routes, what starts and stops with it, and draining.

Routes, one module each:
    GET  /health, /metrics                 agent/app/health.py
    GET|POST /twiml, /incoming-call        agent/app/webhooks.py (Twilio's signed webhooks)
    GET  /ws                               agent/app/media_stream.py (the call's media stream)
    POST /dial-result                      agent/app/transfers.py (a transfer's <Dial> ended)
    GET  /calls, /calls/{call_sid}         agent/app/records_api.py (bearer ADMIN_TOKEN)
    POST /calls, /status, /amd             agent/app/outbound_routes.py (placing a call:
                                           bearer ADMIN_TOKEN; Twilio's signed callbacks)
    GET  /calls/{call_sid}/recording       agent/app/recording_api.py (bearer ADMIN_TOKEN)
    /dashboard/...                         agent/dashboard (login with ADMIN_TOKEN)

`create_app(config)` validates every graph (strictly: the keys they need must be set) and
refuses to build an app with an invalid one. At start it checks the Groq models the graphs
name, starts call records, and builds every graph once (warm-up); at cleanup it closes
the records and the Twilio REST client. `drain(app)` is what SIGTERM runs: stop taking
calls, let live ones finish for up to DRAIN_SECONDS, then end them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web
from loguru import logger

from agent import dashboard
from agent.app import (
    health,
    media_stream,
    outbound_routes,
    recording_api,
    records_api,
    transfers,
    warm_status,
    webhooks,
)
from agent.app.services import SERVICES, Services
from agent.config import Config
from agent.errors import GraphError, GraphNotFound
from agent.graph import BuildContext, CallInfo, Graph, build_graph, load_servable_graphs
from agent.graph import provider_checks as graph_provider_checks
from agent.graph.lines import check_across
from agent.graph.validate import display_path
from agent.recording.service import Recordings
from agent.records import runtime as records
from agent.telemetry import tracing_from_config
from agent.twilio.protocol import MAX_MESSAGE_BYTES

__all__ = ["SERVICES", "create_app", "drain"]

GOODBYE_GRACE_S = 6.0  # drain: after the live calls' time is up, for their goodbyes
REST_GRACE_S = 4.0  # drain: for REST hang-ups still retrying


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
    if left := await services.twilio.wait_for_pending(timeout=REST_GRACE_S):
        logger.warning(f"draining: {left} REST hang-up(s) still retrying; giving up on them")


async def _check_providers(app: web.Application) -> None:
    for check in graph_provider_checks(app[SERVICES].graphs, app[SERVICES].config):
        await check()


async def _warm_up(app: web.Application) -> None:
    """Build every graph once, unused, so the first call does not pay for imports and models.

    The first build of a graph imports pipecat's services and loads shared models (~0.6 s of
    blocking work); done here it delays readiness instead of the first caller's greeting, and a
    graph that cannot be built stops the server at start rather than failing a call.
    """
    services = app[SERVICES]
    started = time.monotonic()
    for graph in services.graphs.values():
        call = CallInfo("CAwarmup", "MZwarmup", None, None, None)
        build_graph(graph, BuildContext(services.config, graph, call, services.cache))
    logger.info(f"graphs built once in {time.monotonic() - started:.2f}s (warm-up)")


async def _end_calls_on_shutdown(app: web.Application) -> None:
    if app[SERVICES].calls:
        await drain(app, grace_s=0)


async def _call_records(app: web.Application) -> AsyncIterator[None]:
    """Call records (agent/records): the database, its writer, extraction, record delivery."""
    services = app[SERVICES]
    if records.wanted(services.config, services.graphs):
        services.records = await records.RecordsRuntime.start(
            services.config, services.graphs, services.metrics, sms=services.twilio
        )
    yield
    if services.records is not None:
        await services.records.close()
        services.records = None


async def _recordings(app: web.Application) -> AsyncIterator[None]:
    """Call recordings (agent/recording): the file thread, and retention, which runs even
    when no graph records calls now (recordings made before still age out)."""
    services = app[SERVICES]
    config, metrics = services.config, services.metrics
    services.recordings = Recordings(
        config.recordings_dir,
        config.recording_retention_days,
        on_error=lambda reason: metrics.recording_errors.labels(reason).inc(),
        on_result=lambda result: metrics.recordings.labels(result).inc(),
        on_deleted=metrics.recordings_deleted.inc,
    )
    recording = sorted(name for name, graph in services.graphs.items() if graph.call.record)
    if recording and (problem := await services.recordings.check_writable()):
        logger.error(
            f"RECORDINGS_DIR {services.recordings.directory} is not writable ({problem}): "
            f"calls through {', '.join(recording)} will not be recorded"
        )
    services.recordings.start_retention(
        lambda: services.records.writer if services.records is not None else None
    )
    yield
    await services.recordings.close()
    services.recordings = None


async def _tracing(app: web.Application) -> AsyncIterator[None]:
    """Traces (agent/telemetry), when the OTEL_* variables ask; buffered spans exported at
    cleanup, after the last call."""
    services = app[SERVICES]
    ours = None
    if services.tracing is None:
        services.tracing = ours = tracing_from_config(services.config)
    yield
    if ours is not None:
        await asyncio.to_thread(ours.shutdown)
        services.tracing = None


async def _twilio_rest(app: web.Application) -> AsyncIterator[None]:
    """The Twilio REST client's HTTP session, closed after the last call."""
    yield
    await app[SERVICES].twilio.close()


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
        raise GraphNotFound(config.default_graph, sorted(graphs))
    if problems := check_across(graphs.values(), display_path):  # given graphs, checked too
        raise GraphError(problems)
    app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
    app[SERVICES] = Services.for_config(config, graphs)
    health.add_routes(app)
    webhooks.add_routes(app)
    media_stream.add_routes(app)
    records_api.add_routes(app)
    transfers.add_routes(app)
    recording_api.add_routes(app)
    warm_status.add_routes(app)
    outbound_routes.add_routes(app)
    dashboard.add_routes(app)
    app.cleanup_ctx.append(_twilio_rest)
    app.cleanup_ctx.append(_tracing)  # closed after the last call's trace is built
    app.cleanup_ctx.append(_call_records)  # before the first call, closed after the last
    app.cleanup_ctx.append(_recordings)  # closed before the records (its last notes go there)
    if check_providers:
        app.on_startup.append(_check_providers)
    if warm_up:
        app.on_startup.append(_warm_up)
    app.on_shutdown.append(_end_calls_on_shutdown)
    return app
