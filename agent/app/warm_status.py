"""`POST /warm-status`: Twilio's reports on a warm transfer's call to the person (signed).

The person's call is created with `StatusCallback=https://PUBLIC_HOST/warm-status?transfer=ID`
and the events initiated, ringing, answered and completed (agent/app/warm_transfer.py).
Each request is checked like every webhook (403 without a valid `X-Twilio-Signature`),
then moves the transfer (agent/app/warm_registry.py):

- `ringing`: dialing → ringing; `in-progress` (answered): nothing yet, the person's media
  stream starts the brief;
- `busy`, `no-answer`, `failed`, `canceled`: the transfer ends so (the caller is told);
- `completed`: while the person was being asked, a decline (they hung up); before their
  stream began, a failure (the caller is told at once); after an
  accepted transfer, the conference is over: the leg's `CallDuration` goes into the
  record, which is then final and delivered (CALL_WEBHOOK_URL), and the transfer is
  forgotten.

An unknown transfer (a late report, another process) gets 200 and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from loguru import logger

from agent.app.services import SERVICES
from agent.app.transfer_call import record
from agent.app.transfers import _deliver, _seconds
from agent.app.warm_transfer import STATUS_PATH
from agent.app.webhooks import signed_form
from agent.records.store import TransferStatus

CALL_STATUSES = (
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
)


async def handle_warm_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await signed_form(request, services)  # 403 without Twilio's signature
    status = str(form.get("CallStatus") or "")
    if status not in CALL_STATUSES:
        raise web.HTTPBadRequest(text=f"expected CallStatus ({', '.join(CALL_STATUSES)})")
    transfer = services.warm.get(request.query.get("transfer"))
    if transfer is None:
        logger.info(f"warm status {status} for an unknown transfer: ignored")
        return web.Response(status=200)
    if transfer.leg_sid is None and form.get("CallSid"):
        transfer.leg_sid = str(form["CallSid"])
    if status == "ringing":
        transfer.advance("ringing")
    elif status in ("busy", "no-answer", "failed", "canceled"):
        transfer.advance(status)
    elif status == "completed":
        if transfer.state == "briefing":
            transfer.advance("declined")  # hung up while being asked
        elif not transfer.decided:
            transfer.advance("failed")  # answered, but its stream never reached us
        transfer.leg_duration_s = _seconds(form.get("CallDuration"))
        if transfer.state == "accepted":
            graph = services.graph_for(transfer.graph)
            now = datetime.now(UTC)
            event = TransferStatus(transfer.call_sid, "accepted", now, transfer.leg_duration_s)
            record(services.records, graph, event)
            _deliver(services, graph, transfer.call_sid)
        services.warm.close(transfer.id)
    return web.Response(status=200)


def add_routes(app: web.Application) -> None:
    app.router.add_post(STATUS_PATH, handle_warm_status)
