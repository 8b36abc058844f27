"""Twilio's voice webhooks: the HTTP requests Twilio makes about a call, answered with TwiML.

    GET|POST /twiml, /incoming-call   a call comes in: <Connect><Stream> to /ws with the graph,
                                      caller and called numbers as stream parameters (and the
                                      line's state, for a graph with hours); the busy
                                      <Say><Hangup> while draining or at MAX_CALLS

The graph: the one listing the call's `To`, else `?graph=`, else DEFAULT_GRAPH; then its
business hours at `Services.wall_clock` (agent/app/answering.py).

Every request here is signed by Twilio (`X-Twilio-Signature`, agent/twilio/signatures.py):
403 without a valid one. The TwiML comes from agent/twilio/twiml.py. Another callback from
Twilio (a `<Dial>` action, a status callback) is a handler here, checked the same way.
"""

from __future__ import annotations

from aiohttp import web
from loguru import logger

from agent.app.answering import UnknownGraph, answer_call
from agent.app.services import SERVICES, Services
from agent.twilio import signatures, twiml

BUSY_MESSAGE = "Sorry, we can't take your call right now. Please call back in a minute."


def twiml_response(xml: str) -> web.Response:
    return web.Response(text=xml, content_type=twiml.CONTENT_TYPE)


async def signed_form(request: web.Request, services: Services) -> dict:
    """The webhook's POST form ({} for GET), after checking Twilio's signature (403 if bad)."""
    form = dict(await request.post()) if request.method == "POST" else {}
    if not signatures.is_valid(request, services.config, form):
        services.metrics.webhook_requests.labels("bad_signature").inc()
        logger.warning(f"webhook {request.path}: missing or invalid X-Twilio-Signature")
        raise web.HTTPForbidden(text="invalid Twilio signature")
    return form


async def handle_incoming_call(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    config = services.config
    form = await signed_form(request, services)
    query = request.query
    caller = str(form.get("From") or query.get("From") or "")
    called = str(form.get("To") or query.get("To") or "")
    try:
        answer = answer_call(
            services.graphs,
            services.numbers,
            to=called,
            requested=query.get("graph"),
            default=config.default_graph,
            now=services.wall_clock.now(),
        )
    except UnknownGraph as exc:
        services.metrics.webhook_requests.labels("unknown_graph").inc()
        raise web.HTTPBadRequest(text=str(exc)) from None

    limit = config.max_calls
    at_capacity = limit > 0 and len(services.calls) >= limit
    if services.draining or at_capacity:
        services.metrics.webhook_requests.labels("busy").inc()
        if at_capacity:
            services.metrics.calls_rejected.labels("capacity").inc()
            logger.warning(f"at capacity ({limit} calls): caller gets the busy message")
        return twiml_response(twiml.say_and_hang_up(BUSY_MESSAGE))

    stream_url = f"{signatures.public_base(request, config, websocket=True)}/ws"
    params = {"graph": answer.graph, "from": caller, "to": called}
    xml = twiml.connect_stream(stream_url, params | answer.stream_parameters())
    services.metrics.webhook_requests.labels("ok").inc()
    return twiml_response(xml)


def add_routes(app: web.Application) -> None:
    for path in ("/twiml", "/incoming-call"):
        app.router.add_route("GET", path, handle_incoming_call)
        app.router.add_route("POST", path, handle_incoming_call)
