"""A transferred call's side of a cold transfer: the hand-off, and the call coming back.

How a transfer goes (the graph file's `transfer:` names the destinations):

1. The call controller's transfers (processors/call_transfer.py) say the transfer phrase
   and end the pipeline with reason "transfer"; the pacer plays the phrase to its end.
2. Once the phrase has played (the pacer's speaking frames), the controller runs the call's
   hand-off (`hand_off_for`, bound by agent/app/pipeline.py): the live call is updated
   with inline TwiML, `<Dial action="https://PUBLIC_HOST/dial-result?graph=..">NUMBER</Dial>`
   (agent/twilio/twiml.py, agent/twilio/rest.py, retried like a hang-up); Twilio then ends
   the stream, and the pipeline ends (the transport's own run of the same hand-off at the
   end is a no-op). A refused update leaves the stream open: the record says
   `update_failed`, the caller hears the graph's `transfer_failed` (with `messages:`, an
   offer to take a message) and the conversation goes on.
3. When the dialled leg ends Twilio requests `/dial-result` (agent/app/transfers.py;
   signed: 403 otherwise) with `DialCallStatus` and `DialCallDuration`. Answered (`completed`): the record's transfer
   and the call's outcome say "transferred", and the answer is an empty `<Response/>`, so
   the call ends when the person hangs up. Otherwise (busy, no-answer, failed, canceled):
   the answer connects a new media stream for the same call, with stream parameters
   `resume=transfer` and `dial_status`; its call session loads the conversation so far
   from the call record (`load_resume`), the agent says the graph's `transfer_failed`
   phrase and the conversation goes on, its turns continuing the same record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from loguru import logger

from agent.graph import Graph
from agent.records.runtime import RecordsRuntime
from agent.records.store import Event, TransferStarted, TransferStatus
from agent.twilio import twiml
from agent.twilio.rest import TwilioRestClient
from processors.call_transfer import TransferRequest

RESUME_PARAMETER = "resume"  # stream parameter: "transfer" on a call back from a transfer
DIAL_STATUS_PARAMETER = "dial_status"
HISTORY_FLUSH_S = 5.0


def records_calls(records: RecordsRuntime | None, graph: Graph) -> bool:
    """Does this graph keep call records (a call_recorder tap, records running)?"""
    return records is not None and any(
        node.type.name == "call_recorder" for node in graph.tap_nodes()
    )


def record(records: RecordsRuntime | None, graph: Graph, event: Event) -> None:
    if records_calls(records, graph):
        records.writer.enqueue(event)


def dial_action_url(public_base: str, graph: str, destination: str) -> str:
    """Where Twilio reports the dial's end (no personal data: Twilio sends From and To)."""
    return f"{public_base}/dial-result?{urlencode({'graph': graph, 'destination': destination})}"


def dial_twiml(public_base: str, graph: str, request: TransferRequest, called: str | None) -> str:
    """The <Dial> a transferred call gets; caller ID: the destination's, else the called number."""
    return twiml.dial(
        request.to,
        dial_action_url(public_base, graph, request.name),
        timeout_s=request.ring_timeout_s,
        caller_id=request.caller_id or called or None,
    )


@dataclass
class HandOff:
    """One call's transfer hand-off: the REST update the transport runs before closing."""

    twilio: TwilioRestClient
    records: RecordsRuntime | None
    graph: Graph
    call_sid: str
    account_sid: str | None
    twiml: str
    result: str | None = None  # the REST result: ok, already_ended, refused_NNN, failed
    started: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self) -> bool:
        """Update the call, once: called again, says how the first time went."""
        if self.started:
            await self.done.wait()
            return self.result == "ok"
        self.started = True
        try:
            return await self._update()
        finally:
            self.done.set()

    async def _update(self) -> bool:
        resource = self.twilio.call(self.call_sid, self.account_sid)
        if resource is None:
            logger.error("transfer: no Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
            self.result = "no_credentials"
        else:
            self.result = (await resource.update(twiml=self.twiml)).result
        ok = self.result == "ok"
        if not ok:
            status = TransferStatus(self.call_sid, "update_failed", datetime.now(UTC))
            record(self.records, self.graph, status)
        logger.info(f"transfer hand-off: {self.result}")
        return ok


def hand_off_for(
    twilio: TwilioRestClient,
    records: RecordsRuntime | None,
    graph: Graph,
    start,
    public_base: str,
    request: TransferRequest,
) -> Callable[[], Awaitable[bool]]:
    """The hand-off for `request` on the stream `start` (recording the transfer's start)."""
    record(
        records,
        graph,
        TransferStarted(
            start.call_sid,
            request.name,
            request.to,
            request.via,
            request.reason,
            datetime.now(UTC),
        ),
    )
    called = start.custom_parameters.get("to")
    body = dial_twiml(public_base, graph.name, request, called)
    return HandOff(twilio, records, graph, start.call_sid, start.account_sid or None, body)


# --- back from an unanswered transfer ----------------------------------------------------


@dataclass
class Resume:
    """A call back on a new stream after a transfer nobody answered."""

    dial_status: str
    turns: list[dict] = field(default_factory=list)  # the record's turns so far
    started_at: float | None = None  # the call's start (epoch seconds), from the record

    def elapsed_s(self, now: float | None = None) -> float:
        """How long the call has lasted so far (0 when its start is unknown)."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.started_at)

    def messages(self) -> list[dict]:
        """The conversation so far as LLM messages (what the caller heard of the agent)."""
        out = []
        for turn in self.turns:
            if turn["role"] == "caller" and turn["source"] != "dtmf":
                out.append({"role": "user", "content": turn["text"]})
            elif turn["role"] == "caller":
                out.append(
                    {"role": "user", "content": f"(The caller {turn['text']} on the keypad.)"}
                )
            else:
                heard = turn.get("heard_text")
                text = heard if heard else turn["text"]
                if text:
                    out.append({"role": "assistant", "content": text})
        return out


async def load_resume(runtime: RecordsRuntime | None, call_sid: str, dial_status: str) -> Resume:
    """The call so far from its record (none kept: an empty history; never raises)."""
    resume = Resume(dial_status=dial_status)
    if runtime is None:
        return resume
    try:
        await runtime.writer.flush(timeout=HISTORY_FLUSH_S)
        call = await runtime.store.get_call(call_sid)
    except Exception as exc:  # a database problem must not stop the call coming back
        logger.warning(f"transfer return: no history from the record ({type(exc).__name__})")
        return resume
    if call is None:
        return resume
    resume.turns = call["turns"]
    if call.get("started_at"):
        started = datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))
        resume.started_at = started.timestamp()
    return resume
