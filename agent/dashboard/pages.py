"""The Live page, one call's page and its recording, behind the dashboard's login.

GET /dashboard                         303 to Live
GET /dashboard/live                    the live calls (then kept current by live.js
                                       from GET /dashboard/live/events)
GET /dashboard/calls/{call_sid}        the call's record: transcript (heard and unheard
                                       words), answers' sources, latency bars, timeline,
                                       extraction, faults, transfers, messages, recording
GET /dashboard/calls/{call_sid}/recording   the WAV (401 logged out)
"""

from __future__ import annotations

import os
from datetime import datetime

from aiohttp import web

from agent.app.recording_api import recording_response
from agent.app.services import SERVICES
from agent.dashboard import charts
from agent.dashboard.auth import require_feed, require_page
from agent.dashboard.live import BOARD
from agent.dashboard.render import render


def records_or_503(request: web.Request):
    runtime = request.app[SERVICES].records
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="call records are not running")
    return runtime


async def home(request: web.Request) -> web.Response:
    require_page(request)
    raise web.HTTPSeeOther("/dashboard/live")


async def live(request: web.Request) -> web.Response:
    session = require_page(request)
    services = request.app[SERVICES]
    board = request.app[BOARD]
    context = {
        "calls": [entry.as_dict() for entry in board.calls.values()],
        "workers": services.config.web_concurrency,
        "pid": os.getpid(),
    }
    return render(request, "live.html", context, session=session, page="live")


def heard_parts(turn: dict) -> tuple[str, str, bool]:
    """(heard, unheard, known): an agent turn's words the caller heard and those a barge-in
    cut; `known` is False when the call ended while it played (what was heard is unknown)."""
    text = turn["text"] or ""
    if turn["role"] != "agent" or not turn["interrupted"]:
        return text, "", True
    heard = turn["heard_text"]
    if heard is None:
        return "", text, False
    if text.startswith(heard):
        return heard, text[len(heard) :], True
    return heard, text, True  # the heard words were re-spoken differently: show both


def _seconds(at: str | None, start: datetime | None) -> float | None:
    if not at or start is None:
        return None
    return (datetime.fromisoformat(at.replace("Z", "+00:00")) - start).total_seconds()


def turn_rows(call: dict) -> list[dict]:
    start = (
        datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))
        if call["started_at"]
        else None
    )
    rows = []
    for turn in call["turns"]:
        heard, unheard, known = heard_parts(turn)
        rows.append(
            {
                **turn,
                "heard": heard,
                "unheard": unheard,
                "heard_known": known,
                "at_s": _seconds(turn["started_at"], start),
                "end_s": _seconds(turn["ended_at"], start),
            }
        )
    return rows


async def call_page(request: web.Request) -> web.Response:
    session = require_page(request)
    runtime = records_or_503(request)
    call_sid = request.match_info["call_sid"]
    call = await runtime.store.get_call(call_sid)
    if call is None:
        return render(request, "not_found.html", {"call_sid": call_sid}, 404, session, "history")
    turns = turn_rows(call)
    latencies = [t["latency_ms"] for t in turns if t["latency_ms"] is not None]
    recording = call["recording"]
    playable = bool(recording and not recording["deleted_at"])
    context = {
        "call": call,
        "turns": turns,
        "max_latency": max(latencies, default=0) or 1,
        "timeline": charts.timeline(turns, call["duration_s"]),
        "failures": [t for t in turns if t["failure"]],
        "playable": playable,
        "live": call_sid in request.app[BOARD].calls,
    }
    return render(request, "call.html", context, session=session, page="history")


async def recording(request: web.Request) -> web.StreamResponse:
    require_feed(request)
    return await recording_response(records_or_503(request), request.match_info["call_sid"])
