"""`GET /calls` and `GET /calls/{call_sid}`: call records as JSON, behind ADMIN_TOKEN.

    GET /calls?limit=50&offset=0&since=2026-01-01&until=2026-02-01T12:00Z&graph=G&outcome=O
              &number=5550&failure=any|stt|llm|tts|stage:reason&field=name&value=ada
        {"calls": [...newest first...], "total": N, "limit": 50, "offset": 0, "next_offset": 50|null}
    GET /calls/{call_sid}
        the call with "turns" (in order), "extractions" (every snapshot or error) and
        "messages" (taken for the owner, with their SMS state); 404 if none

`Authorization: Bearer ADMIN_TOKEN` (compared in constant time); 401 without it or with a
wrong one. With ADMIN_TOKEN unset the routes answer 404, as if they did not exist.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from aiohttp import web

from agent.app.services import SERVICES
from agent.records.timestamps import parse_time

MAX_LIMIT = 500


def _authorized(request: web.Request, token: str) -> None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(
            text="missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def authorized_runtime(request: web.Request):
    services = request.app[SERVICES]
    token = services.config.admin_token
    if not token:
        raise web.HTTPNotFound()
    _authorized(request, token.reveal())
    runtime = services.records
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="call records are not running")
    return runtime


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw, name)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}: expected a whole number") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{name}: expected {low} to {high}")
    return value


async def list_calls(request: web.Request) -> web.Response:
    runtime = authorized_runtime(request)
    limit = _int(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int(request, "offset", 0, 0, 10**9)
    calls, total = await runtime.store.list_calls(
        limit=limit,
        offset=offset,
        since=_time(request, "since"),
        until=_time(request, "until"),
        graph=request.query.get("graph") or None,
        outcome=request.query.get("outcome") or None,
        number=request.query.get("number") or None,
        failure=request.query.get("failure") or None,
        field=request.query.get("field") or None,
        value=request.query.get("value") or None,
    )
    next_offset = offset + len(calls) if offset + len(calls) < total else None
    body = {
        "calls": calls,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }
    return web.json_response(body)


async def get_call(request: web.Request) -> web.Response:
    runtime = authorized_runtime(request)
    call = await runtime.store.get_call(request.match_info["call_sid"])
    if call is None:
        raise web.HTTPNotFound(text="no such call")
    return web.json_response(call)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/calls", list_calls)
    app.router.add_get("/calls/{call_sid}", get_call)
