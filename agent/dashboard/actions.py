"""What an operator can do to a live call from the dashboard (POST, CSRF token required).

    POST /dashboard/calls/{call_sid}/end        csrf: the agent says the graph's goodbye and
                                                hangs up through the agent's own path (the
                                                call controller, then Twilio's REST hang-up);
                                                the outcome is "ended_by_operator"
    POST /dashboard/calls/{call_sid}/transfer   csrf, destination: the graph's transfer
                                                phrase, then the <Dial> (agent/app/transfer_call.py)

404 when the call is not live in this process. A form post gets 303 back to Live; a request
with `Accept: application/json` (live.js) gets JSON.
"""

from __future__ import annotations

from aiohttp import web
from loguru import logger

from agent.app.services import SERVICES
from agent.dashboard.auth import require_action

OPERATOR_OUTCOME = "ended_by_operator"


def _session_of(request: web.Request):
    call_sid = request.match_info["call_sid"]
    for session in request.app[SERVICES].calls:
        if session.call_sid == call_sid:
            return session
    raise web.HTTPNotFound(text="no such live call in this process")


def _done(request: web.Request, status: str) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"status": status})
    raise web.HTTPSeeOther("/dashboard/live")


async def end_call(request: web.Request) -> web.Response:
    await require_action(request)
    session = _session_of(request)
    logger.info("dashboard: an operator ends the call")
    await session.end(OPERATOR_OUTCOME, goodbye=True)
    return _done(request, "ending")


async def transfer_call(request: web.Request) -> web.Response:
    _, form = await require_action(request)
    session = _session_of(request)
    destination = form.get("destination")
    if not isinstance(destination, str) or not destination:
        raise web.HTTPBadRequest(text="destination: expected one of the graph's transfer names")
    if not session.transfer(destination, "operator"):
        raise web.HTTPConflict(
            text=f"cannot transfer to {destination!r} now (not set, or the call is ending)"
        )
    logger.info(f"dashboard: an operator transfers the call to {destination}")
    return _done(request, "transferring")
