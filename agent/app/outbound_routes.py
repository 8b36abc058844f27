"""Outbound calls over HTTP: placing one, and what Twilio tells us about it.

    POST /calls     bearer ADMIN_TOKEN; JSON {"to": "+1555...", "graph": "reminder",
                    "vars": {"name": "Ann"}, "from": "+1555..." (optional: FROM_NUMBER),
                    "tag": "..." (optional)} -> 201 {"call_sid", "to", "graph"}.
                    Refused: {"error": reason, "message": ...} with 400 (bad JSON or fields),
                    422 (invalid_number, unknown_graph, unknown_variable, missing_variable,
                    no_from_number), 409 (do_not_call), 502 (twilio_error), 401 (the bearer
                    token), 503 (no database; `busy`: draining, or MAX_CALLS live calls, the
                    agent's own counted with the callers')
    POST /status    Twilio's status callback (signed): CallStatus, CallDuration -> the record
    POST /amd       Twilio's asynchronous AMD callback (signed): AnsweredBy -> the record and
                    the call's stream in this process (agent/app/outbound_calls.py)

The TwiML, callbacks and AMD options a call is created with: agent/outbound/twilio_placer.py.
"""

from __future__ import annotations

from collections.abc import Awaitable

from aiohttp import web
from loguru import logger

from agent.app import outbound_calls
from agent.app.records_api import authorized_runtime
from agent.app.services import SERVICES
from agent.app.webhooks import signed_form
from agent.outbound.placing import DialRefused, DialRequest
from agent.twilio import signatures

REFUSAL_STATUS = {"do_not_call": 409, "twilio_error": 502}


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": reason, "message": message}, status=status)


async def handle_place_call(request: web.Request) -> web.Response:
    try:  # 404 without ADMIN_TOKEN, 401 without it (or a wrong one), 503 no database
        authorized_runtime(request)
    except web.HTTPNotFound:
        raise
    except web.HTTPException as exc:
        reason = "unauthorized" if exc.status == 401 else "no_database"
        return web.json_response(
            {"error": reason, "message": exc.text or exc.reason},
            status=exc.status,
            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None,
        )
    services = request.app[SERVICES]
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "bad_json", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "bad_json", "the body should be a JSON object")
    unknown = sorted(set(body) - {"to", "graph", "vars", "from", "tag"})
    if unknown:
        return _error(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    for key in ("to", "graph"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            return _error(400, f"missing_{key}", f"'{key}' is required (a string)")
    variables = body.get("vars") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in variables.items()
    ):
        return _error(400, "bad_vars", "'vars' should be an object of names to strings")
    for key in ("from", "tag"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return _error(400, f"bad_{key}", f"'{key}' should be a string")
    dial = DialRequest(
        to=body["to"],
        graph=body["graph"],
        vars={k: str(v) for k, v in variables.items()},
        from_number=body.get("from") or None,
        tag=body.get("tag"),
    )
    limit = services.config.max_calls
    if services.draining or (limit > 0 and len(services.calls) >= limit):
        why = "draining" if services.draining else f"at MAX_CALLS ({limit} live calls)"
        return _error(503, "busy", f"this server cannot take another call now: {why}")
    base = signatures.public_base(request, services.config)
    try:
        placed = await outbound_calls.placer(services, base).place(dial)
    except DialRefused as exc:
        return _error(REFUSAL_STATUS.get(exc.reason, 422), exc.reason, str(exc))
    return web.json_response(
        {"call_sid": placed.call_sid, "to": placed.to, "graph": placed.graph}, status=201
    )


async def handle_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await signed_form(request, services)
    call_sid, status = str(form.get("CallSid") or ""), str(form.get("CallStatus") or "")
    if not call_sid or not status:
        raise web.HTTPBadRequest(text="CallSid and CallStatus are required")
    records = outbound_calls.outbound_records(services)
    duration = None
    if form.get("CallDuration"):
        try:
            duration = float(str(form["CallDuration"]))
        except ValueError:
            duration = None
    if records is not None:
        await _record(records.status(call_sid, status, duration_s=duration), "status callback")
    logger.info(f"call ...{call_sid[-8:]}: {status}")
    return web.Response(status=204)


async def handle_amd(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await signed_form(request, services)
    call_sid, answered_by = str(form.get("CallSid") or ""), str(form.get("AnsweredBy") or "")
    if not call_sid or not answered_by:
        raise web.HTTPBadRequest(text="CallSid and AnsweredBy are required")
    services.amd.arrived(call_sid, answered_by)
    records = outbound_calls.outbound_records(services)
    if records is not None:
        await _record(records.amd(call_sid, answered_by), "AMD result")
    logger.info(f"call ...{call_sid[-8:]}: answered by {answered_by} (AMD)")
    return web.Response(status=204)


async def _record(write: Awaitable[object], what: str) -> None:
    """A callback's record write; Twilio retries nothing, so a failure is logged, not raised."""
    try:
        await write
    except Exception as exc:
        logger.error(f"{what} not recorded ({type(exc).__name__})")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/calls", handle_place_call)
    app.router.add_post("/status", handle_status)
    app.router.add_post("/amd", handle_amd)
