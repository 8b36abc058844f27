"""The CallPlacer over Twilio's REST API: one outbound call, checked, created, recorded.

`TwilioCallPlacer.place(request)`, in order, refusing with `DialRefused` (nothing is called):
1. the number in E.164 (`invalid_number`); the graph is one this process has
   (`unknown_graph`, with a did-you-mean); the variables: none the graph does not declare
   (`unknown_variable`), every `required` one given and not blank (`missing_variable`); a
   caller ID (the request's, else FROM_NUMBER: `no_from_number`);
2. the number is not on the do-not-call list (`do_not_call`);
3. `POST Calls.json` (agent/twilio/rest.py) with inline TwiML: `<Connect><Stream>` to this
   server's /ws with the `<Parameter>`s graph, direction=outbound, from, to, and one
   `var.NAME` per variable. The variables travel in the POST body to Twilio and back in the
   stream's `start` message, never in a URL or a log line. A signed `StatusCallback` to
   /status (initiated, ringing, answered, completed) and Twilio's asynchronous AMD
   (`MachineDetection=DetectMessageEnd`, `AsyncAmd=true`, `AsyncAmdStatusCallback` to /amd),
   both handled by agent/app/outbound_routes.py. Twilio's refusal is `twilio_error` with its
   code (21211, an invalid To, is `invalid_number`);
4. the call's record (agent/records/outbound_store.py): direction outbound, status queued
   at the moment it was asked for, the request's tag (Twilio's first callbacks may be
   written before it: the record applies them).

Inline TwiML rather than a `Url`: whoever places the call (the CLI, a campaign worker, the
server) needs no state shared with the server that answers it, and the variables are not
stored anywhere before the call (the record keeps none of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from loguru import logger

from agent.graph.suggest import hint
from agent.logging_setup import phone_hint
from agent.outbound.placing import (
    DialRefused,
    DialRequest,
    DoNotCall,
    PlacedCall,
    normalize_number,
)
from agent.records.outbound_store import OutboundRecords
from agent.twilio import twiml
from agent.twilio.rest import TwilioRestClient

VAR_PARAMETER = "var."  # stream parameter prefix of a call variable
DIRECTION_PARAMETER = "direction"
MACHINE_DETECTION = "DetectMessageEnd"
RING_TIMEOUT_S = 30
STATUS_PATH = "/status"
AMD_PATH = "/amd"


def stream_url(public_base: str) -> str:
    """The /ws URL for `public_base` (https -> wss, http -> ws)."""
    if public_base.startswith("https://"):
        return "wss://" + public_base.removeprefix("https://") + "/ws"
    return "ws://" + public_base.removeprefix("http://") + "/ws"


def outbound_twiml(public_base: str, graph: str, from_: str, to: str, vars: Mapping[str, str]):
    """The call's TwiML: its media stream, with the graph, direction and variables."""
    params = {"graph": graph, DIRECTION_PARAMETER: "outbound", "from": from_, "to": to}
    params |= {f"{VAR_PARAMETER}{name}": value for name, value in vars.items()}
    return twiml.connect_stream(stream_url(public_base), params)


def check_vars(graph_name: str, declared: Mapping, given: Mapping[str, str]) -> None:
    """Refuse variables the graph does not declare, and required ones missing or blank."""
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise DialRefused(
                "unknown_variable",
                f"graph '{graph_name}' has no variable '{name}'{hint(name, list(declared))} "
                f"(its variables: {known})",
            )
    for name, spec in declared.items():
        if spec.required and not str(given.get(name) or "").strip():
            raise DialRefused(
                "missing_variable",
                f"graph '{graph_name}' needs the variable '{name}' (--var {name}=...)",
            )


class TwilioCallPlacer:
    """Places calls for one process (see the module docstring); implements CallPlacer."""

    def __init__(
        self,
        twilio: TwilioRestClient,
        graphs: Mapping,
        dnc: DoNotCall,
        records: OutboundRecords | None,
        public_base: str,
        from_number: str | None,
        *,
        ring_timeout_s: int = RING_TIMEOUT_S,
    ):
        self.twilio = twilio
        self.graphs = graphs  # name -> agent.graph.Graph
        self.dnc = dnc
        self.records = records
        self.public_base = public_base.rstrip("/")
        self.from_number = from_number
        self.ring_timeout_s = ring_timeout_s

    async def place(self, request: DialRequest) -> PlacedCall:
        to = normalize_number(request.to)
        graph = self.graphs.get(request.graph)
        if graph is None:
            names = sorted(self.graphs)
            raise DialRefused(
                "unknown_graph",
                f"unknown graph '{request.graph}'{hint(request.graph, names)}; "
                f"available: {', '.join(names) or 'none'}",
            )
        check_vars(graph.name, graph.vars, request.vars)
        raw_from = request.from_number or self.from_number
        if not raw_from:
            raise DialRefused(
                "no_from_number", "no caller ID: set FROM_NUMBER or give --from (a Twilio number)"
            )
        from_ = normalize_number(raw_from)
        if await self.dnc.contains(to):
            raise DialRefused(
                "do_not_call",
                f"{phone_hint(to)} is on the do-not-call list (python -m agent dnc remove "
                "NUMBER takes it off)",
            )
        base = self.public_base
        asked_at = datetime.now(UTC)  # the record's start: before Twilio's first callback
        result = await self.twilio.create_call(
            to,
            from_,
            twiml=outbound_twiml(base, graph.name, from_, to, request.vars),
            timeout_s=self.ring_timeout_s,
            status_callback=f"{base}{STATUS_PATH}",
            machine_detection=MACHINE_DETECTION,
            amd_callback=f"{base}{AMD_PATH}",
        )
        if not result.created or not result.sid:
            reason = "invalid_number" if result.code == 21211 else "twilio_error"
            raise DialRefused(
                reason,
                f"Twilio did not create the call to {phone_hint(to)}: {result.error}",
                twilio_code=result.code,
            )
        logger.info(f"outbound call ...{result.sid[-8:]} to {phone_hint(to)} ({graph.name})")
        if self.records is not None:
            await self.records.placed(
                call_sid=result.sid,
                to_number=to,
                from_number=from_,
                graph=graph.name,
                account_sid=None,
                tag=request.tag,
                at=asked_at,
            )
        return PlacedCall(result.sid, to, graph.name)
