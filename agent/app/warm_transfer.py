"""A warm transfer, the caller's side: hold, call the person, then join them or come back.

How a warm transfer goes (a `transfer:` destination with `warm: true`):

1. The call controller's transfers (processors/call_transfer.py) fire `on_transfer` with a warm
   `TransferRequest`; the pipeline assembly starts a `WarmCaller` (here). It opens the
   transfer in the process's registry (agent/app/warm_registry.py: an unguessable id and
   conference name), records the transfer's start (status "dialing") and creates the
   person's call over Twilio's REST API (`TwilioRestClient.create_call`): To the
   destination, From its caller ID else the called number, `Timeout` its ring timeout,
   inline TwiML connecting a media stream of its own to this server's /ws with the
   stream parameter `warm=<id>`, and a signed `StatusCallback` to `/warm-status?transfer=<id>`
   (agent/app/warm_status.py).
2. Meanwhile the caller hears the graph's `hold_phrase` to its end, then the hold music
   (processors/hold_music.py); what they say is not answered.
3. The person's stream (agent/app/warm_leg.py) tells them who is calling and why
   (agent/app/warm_brief.py) and asks them to accept (processors/warm_accept.py).
4. Accepted: the caller hears `hold_connected` to its end, then the caller's call is
   updated with `<Dial><Conference>NAME` (the transport's hand-off, as for a cold
   transfer) and so is the person's; the record says "accepted", the call's outcome
   "transferred". When the person's leg completes, its duration is recorded and the record
   delivered.
5. Declined, timed out, busy, no-answer or failed: the person's leg is hung up if it is
   still there, the music stops, the caller hears `transfer_failed` and (a graph taking
   messages) a yes to it starts the message dialog; the conversation goes on, on the same
   stream. The record's transfer says which.
6. The caller hanging up while on hold: the person's leg is canceled (still ringing) or
   hung up, and the record says `caller_hung_up`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from loguru import logger

from agent.app.transfer_call import HandOff, record
from agent.app.warm_registry import FINAL, WarmTransfer
from agent.audio import ulaw_to_pcm16
from agent.graph import Graph
from agent.records.store import TransferStarted, TransferStatus
from agent.twilio import twiml
from processors.call_transfer import TransferRequest
from processors.clock import LOOP_CLOCK, Clock, Timer

LEG_PARAMETER = "warm"  # the person's stream parameter: the transfer's id
STATUS_PATH = "/warm-status"
# Undecided after ring + accept timeouts + this (the brief's own time, a lost report): failed.
GIVE_UP_MARGIN_S = 45
HOLD_MUSIC = Path(__file__).resolve().parents[2] / "audio_cache" / "hold_music.ulaw"


def hold_music_pcm(shared) -> bytes:
    """The hold music (audio_cache/make_hold_music.py) as 8 kHz PCM16, read once per
    process (`shared`: the ProcessCache); missing: silence, with an error in the log."""

    def load() -> bytes:
        try:
            return ulaw_to_pcm16(HOLD_MUSIC.read_bytes())
        except OSError:
            logger.error(f"no hold music at {HOLD_MUSIC}: callers hold in silence")
            return b""

    return shared.get_or_create(("warm_transfer", "hold_music"), load)


def status_url(public_base: str, transfer_id: str) -> str:
    """Where Twilio reports the person's call's progress (signed; the id only)."""
    return f"{public_base}{STATUS_PATH}?{urlencode({'transfer': transfer_id})}"


def stream_url(public_base: str) -> str:
    """The media stream URL (wss://) for a public base (https://)."""
    if public_base.startswith("https://"):
        return "wss://" + public_base.removeprefix("https://") + "/ws"
    return "ws://" + public_base.removeprefix("http://") + "/ws"


def leg_twiml(public_base: str, transfer: WarmTransfer) -> str:
    """The person's call, answered: a media stream of its own, naming the transfer."""
    return twiml.connect_stream(
        stream_url(public_base), {LEG_PARAMETER: transfer.id, "graph": transfer.graph}
    )


class WarmCaller:
    """One warm transfer as the caller's call session runs it (module docstring)."""

    def __init__(
        self, services, graph: Graph, start, public_base: str, built_call, clock: Clock = LOOP_CLOCK
    ):
        self.clock = clock
        self._give_up: Timer | None = None
        self.services = services  # agent.app.services.Services
        self.graph = graph
        self.start = start
        self.public_base = public_base
        self.built = built_call  # pipeline.BuiltCall: controller, transport
        self.transfer: WarmTransfer | None = None
        self.hand_off: HandOff | None = None
        self._task: asyncio.Task | None = None

    def begin(self, request: TransferRequest, brief: str) -> WarmTransfer:
        called = self.start.custom_parameters.get("to") or ""
        self.transfer = self.services.warm.open(
            call_sid=self.start.call_sid,
            account_sid=self.start.account_sid or None,
            graph=self.graph.name,
            destination=request.name,
            to=request.to,
            from_=request.caller_id or called,
            brief=brief,
            accept_timeout_s=request.accept_timeout_s,
        )
        now = datetime.now(UTC)
        started = TransferStarted(
            self.start.call_sid, request.name, request.to, request.via, request.reason, now
        )
        record(self.services.records, self.graph, started)
        self.transfer.on_change(self._on_change)
        self._task = self.services.twilio.track(
            asyncio.create_task(self._call_person(request), name="warm-create-call")
        )
        # A backstop: Twilio never reporting, a stream that never comes. The caller is told
        # nobody could take the call rather than holding for ever.
        give_up = request.ring_timeout_s + request.accept_timeout_s + GIVE_UP_MARGIN_S
        self._give_up = self.clock.call_later(give_up, self._gave_up)
        return self.transfer

    def _gave_up(self) -> None:
        if self.transfer is not None and not self.transfer.decided:
            logger.warning(f"warm transfer {self.transfer.id[:6]}: no decision in time")
            self.transfer.advance("failed")

    async def _call_person(self, request: TransferRequest) -> None:
        transfer = self.transfer
        if not transfer.from_:
            logger.error("warm transfer: no caller ID (the destination's or the called number)")
            transfer.advance("failed")
            return
        result = await self.services.twilio.create_call(
            transfer.to,
            transfer.from_,
            twiml=leg_twiml(self.public_base, transfer),
            timeout_s=request.ring_timeout_s,
            status_callback=status_url(self.public_base, transfer.id),
            account_sid=transfer.account_sid,
        )
        if not result.created:
            logger.error(f"warm transfer: the person's call was not created ({result.error})")
            transfer.advance("failed")
            return
        transfer.leg_sid = result.sid
        logger.info(f"warm transfer {transfer.id[:6]}: calling the person (...{result.sid[-8:]})")
        if transfer.state == "caller_hung_up":  # the caller left while we were creating it
            await self._end_leg(ringing=True)

    def _on_change(self, transfer: WarmTransfer, state: str) -> None:
        call_sid = transfer.call_sid
        now = datetime.now(UTC)
        outcome = "transferred" if state == "accepted" else None
        reason = f"transferred to {transfer.destination} (warm): the person accepted"
        event = TransferStatus(call_sid, state, now, None, outcome, reason if outcome else None)
        record(self.services.records, self.graph, event)
        if state not in FINAL:
            return
        if self._give_up is not None:
            self._give_up.cancel()
        if state == "caller_hung_up":
            return
        controller = self.built.controller
        if state == "accepted":
            body = twiml.conference(transfer.conference)
            self.hand_off = HandOff(
                self.services.twilio,
                self.services.records,
                self.graph,
                call_sid,
                transfer.account_sid,
                body,
            )
            self.built.transport.hand_off = self.hand_off
            controller.create_task(controller.transfers.warm_accepted(), name="warm-accepted")
            return
        if state in ("failed",) and transfer.leg_sid:
            self.services.twilio.track(
                asyncio.create_task(self._end_leg(ringing=False), name="warm-end-leg")
            )
        offer = self.graph.messages is not None
        controller.create_task(
            controller.transfers.warm_failed(offer_message=offer), name="warm-failed"
        )

    def caller_gone(self) -> None:
        """The caller's stream ended: a transfer still undecided is over, the leg ended."""
        transfer = self.transfer
        if transfer is None:
            return
        if not transfer.decided:
            ringing = transfer.state in ("dialing", "ringing")
            transfer.advance("caller_hung_up")
            # Still ringing: cancel it here. Being briefed: its own stream tells the person
            # and hangs up (agent/app/warm_leg.py).
            if transfer.leg_sid and ringing:
                self.services.twilio.track(
                    asyncio.create_task(self._end_leg(ringing=True), name="warm-cancel-leg")
                )
        if transfer.state != "accepted" and transfer.leg_sid is None:
            self.services.warm.close(transfer.id)  # no leg will report on it

    async def _end_leg(self, *, ringing: bool) -> None:
        """Cancel (still ringing) or hang up the person's call; never raises."""
        transfer = self.transfer
        resource = self.services.twilio.call(transfer.leg_sid, transfer.account_sid)
        if resource is None:
            return
        result = await (resource.cancel() if ringing else resource.hang_up())
        if ringing and result.result.startswith("refused"):
            result = await resource.hang_up()  # it was answered meanwhile
        logger.info(f"warm transfer {transfer.id[:6]}: the person's call ended ({result.result})")
