"""`POST /dial-result`: Twilio's report that a transfer's <Dial> ended (signed, 403 otherwise).

Twilio requests the `<Dial action>` URL of a transferred call (agent/app/transfer_call.py
says how a transfer goes) when the dialled leg ends, with `DialCallStatus` (completed,
busy, no-answer, failed, canceled) and, answered, `DialCallDuration`. The answer is TwiML:
answered, an empty `<Response/>` (the call ends when the person hangs up; the record says
"transferred" and is delivered); not answered, `<Connect><Stream>` back to this server for
the same call, with stream parameters `resume=transfer` and `dial_status`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from loguru import logger

from agent.app.services import SERVICES, Services
from agent.app.transfer_call import DIAL_STATUS_PARAMETER, RESUME_PARAMETER, record, records_calls
from agent.app.webhooks import signed_form, twiml_response
from agent.graph import Graph
from agent.records.store import TransferStatus
from agent.twilio import signatures, twiml

DIAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


async def handle_dial_result(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await signed_form(request, services)  # 403 without Twilio's signature
    call_sid = str(form.get("CallSid") or "")
    status = str(form.get("DialCallStatus") or "")
    if not call_sid or status not in DIAL_STATUSES:
        raise web.HTTPBadRequest(
            text=f"expected CallSid and DialCallStatus ({', '.join(DIAL_STATUSES)})"
        )
    graph = services.graph_for(request.query.get("graph"))
    now = datetime.now(UTC)
    caller_gone = form.get("CallStatus") in ("completed", "canceled", "busy", "failed")
    if status == "completed":
        duration = _seconds(form.get("DialCallDuration"))
        destination = request.query.get("destination") or "a person"
        reason = f"transferred to {destination}: answered, talked {duration or 0:.0f} s"
        event = TransferStatus(call_sid, status, now, duration, "transferred", reason)
        record(services.records, graph, event)
        _deliver(services, graph, call_sid)
        logger.info(f"transfer of ...{call_sid[-8:]} answered ({duration or 0:.0f}s)")
        return twiml_response(twiml.end())
    if caller_gone or services.draining:
        outcome = "caller_hung_up" if caller_gone else "drained"
        reason = (
            f"the caller hung up while the transfer rang ({status})"
            if caller_gone
            else f"the transfer was not answered ({status}) while the server was shutting down"
        )
        record(
            services.records, graph, TransferStatus(call_sid, status, now, None, outcome, reason)
        )
        _deliver(services, graph, call_sid)
        return twiml_response(twiml.end())
    record(services.records, graph, TransferStatus(call_sid, status, now))
    logger.info(f"transfer of ...{call_sid[-8:]} not answered ({status}): back to the agent")
    stream_url = f"{signatures.public_base(request, services.config, websocket=True)}/ws"
    parameters = {
        "graph": graph.name,
        "from": str(form.get("From") or ""),
        "to": str(form.get("To") or ""),
        RESUME_PARAMETER: "transfer",
        DIAL_STATUS_PARAMETER: status,
    }
    return twiml_response(twiml.connect_stream(stream_url, parameters))


def _seconds(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _deliver(services: Services, graph: Graph, call_sid: str) -> None:
    """The record is final now: deliver it to CALL_WEBHOOK_URL (when set)."""
    runtime = services.records
    if not records_calls(services.records, graph) or runtime.delivery is None:
        return

    async def finished() -> dict | None:
        await runtime.writer.flush()
        return await runtime.store.get_call(call_sid)

    runtime.delivery.schedule(finished)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/dial-result", handle_dial_result)
