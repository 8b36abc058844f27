"""One phone call: from the WebSocket's first message to the pipeline's end.

`CallSession.run()`:
1. waits (bounded) for Twilio's `connected` and `start`; anything else before `start` is
   dropped and counted; a socket that never sends `start` is closed;
2. picks the graph from `start.customParameters.graph` (else DEFAULT_GRAPH) and builds it
   (`agent.graph.build_graph`) between our Twilio transport's input and output; a stream
   with `resume=transfer` is the same call back from an unanswered transfer: the
   conversation so far comes from its record (agent/app/transfer_call.py);
3. runs the pipeline worker until the caller hangs up (`stop` / socket closed → cancel),
   the agent ends the call (EndFrame → REST hang-up → close) or transfers it (EndFrame →
   REST update with a <Dial> → close; outcome "transferred"), the maximum call duration is
   reached, or the server drains;
4. records the outcome in metrics and leaves no task behind.

Every outcome comes with its reason in words (`CallOutcome.detail`: logged, and kept in the
call's record as `end_reason`), e.g. "error" because "a media-stream message over 256 KiB
closed the stream".
The call watchers (`Services.watchers`, agent/app/call_watch.py: the dashboard's live board)
hear of its start, each turn as it ends, and its end; an operator can end it (`end`) or put
it through to one of its graph's transfer destinations (`transfer`) from the dashboard.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from loguru import logger

from agent.app import transfer_call, warm_leg
from agent.app.call_watch import CallWatcher, WatchedCall, notify
from agent.app.metrics import Metrics
from agent.app.pipeline import build_call_pipeline
from agent.errors import SwitchboardError, TwilioProtocolError
from agent.logging_setup import phone_hint
from agent.twilio import protocol as tp
from agent.twilio.ws_bridge import WebSocketBridge
from processors.frames import TransferCallFrame

START_TIMEOUT_S = 10.0

# Why the stream ended from the caller's side (the transport's on_caller_hung_up reason).
CALLER_SIDE = {
    "stop": "the caller hung up",
    "socket_closed": "the media stream closed without a stop message",
    "too_large": f"a media-stream message over {tp.WS_HARD_LIMIT_BYTES // 1024} KiB closed "
    "the stream",
    "socket_error": "the media stream's socket failed",
}
# Why the agent ended the call (the call controller's hang_up_reason).
AGENT_SIDE = {
    "agent": "the agent ended the call",
    "router": "a route that ends the call",
    "dtmf": "a keypad key that ends the call",
    "idle": "the caller stayed silent after the idle prompts",
    "error": "a provider kept failing (the trouble goodbye)",
    "timeout": "the call reached its time limit (max_duration_s)",
    "voicemail": "an answering machine: the agent left the voicemail message",
}


@dataclass
class CallOutcome:
    """How a call ended: caller_hung_up, agent_hung_up, transferred, transfer_failed,
    timeout, drained, ended_by_operator (the dashboard), error, no_start."""

    outcome: str
    call_sid: str | None = None
    graph: str | None = None
    duration_s: float = 0.0
    detail: str = ""


async def wait_for_start(
    bridge: WebSocketBridge, metrics: Metrics, timeout: float | None = None
) -> tp.Start | None:
    """Read messages until `start`; None if the socket closes or `timeout` passes first."""
    deadline = time.monotonic() + (START_TIMEOUT_S if timeout is None else timeout)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            data = await bridge.receive(timeout=remaining)
        except TimeoutError:
            return None
        if data is None:
            return None
        try:
            event = tp.parse_message(data, started=False)
        except TwilioProtocolError as exc:
            metrics.twilio_dropped.labels(exc.reason).inc()
            continue
        metrics.count_twilio_message(event)
        if isinstance(event, tp.Start):
            return event
        if isinstance(event, tp.Stop):
            return None
        if not isinstance(event, tp.Connected):
            metrics.twilio_dropped.labels("before_start").inc()


def _watch(watchers: list[CallWatcher], built, graph, start: tp.Start, resume) -> None:
    """Tell the call watchers this call has started, and each of its turns as it ends."""
    watched = WatchedCall(
        call_sid=start.call_sid,
        graph=graph.name,
        from_number=start.custom_parameters.get("from"),
        to_number=start.custom_parameters.get("to"),
        started_at=resume.started_at if resume is not None and resume.started_at else time.time(),
        transfers=tuple(name for name, dest in graph.transfer.items() if dest.to),
    )
    notify(watchers, lambda w: w.call_started(watched))
    call_sid = start.call_sid
    built.live.turns().on_turn(lambda turn: notify(watchers, lambda w: w.call_turn(call_sid, turn)))


class CallSession:
    """A live call; the server keeps these in a registry to count and drain them."""

    def __init__(self, bridge: WebSocketBridge, services):
        self.bridge = bridge
        self.services = services  # agent.app.services.Services
        self.start_event: tp.Start | None = None
        self.worker = None
        self.transport = None
        self.graph_name: str | None = None
        self.built = None
        self._ending_reason: str | None = None
        self._ending_detail: str = ""  # the reason in words, when known at the moment
        self._started_at = time.monotonic()
        # https://host Twilio reaches us at (the <Dial action> URL); set by the stream route.
        self.public_base: str = ""
        self.hand_off: transfer_call.HandOff | None = None  # set when the call is transferred
        self.warm = None  # agent.app.warm_transfer.WarmCaller, during a warm transfer

    @property
    def call_sid(self) -> str | None:
        return self.start_event.call_sid if self.start_event else None

    async def run(self) -> CallOutcome:
        metrics: Metrics = self.services.metrics
        start = await wait_for_start(self.bridge, metrics)
        if start is None:
            metrics.calls_rejected.labels("no_start").inc()
            await self.bridge.close(code=1008, message=b"no start message")
            return CallOutcome("no_start")
        self.start_event = start
        with logger.contextualize(call=start.call_sid[-12:]):
            outcome = await self._run_started(start)
        outcome.duration_s = time.monotonic() - self._started_at
        metrics.calls.labels(outcome.outcome).inc()
        detail = f" ({outcome.detail})" if outcome.detail else ""
        logger.info(f"call ended: {outcome.outcome} after {outcome.duration_s:.1f}s{detail}")
        return outcome

    async def _run_started(self, start: tp.Start) -> CallOutcome:
        if warm_leg.LEG_PARAMETER in start.custom_parameters:
            # The person's side of a warm transfer (agent/app/warm_leg.py).
            outcome = await warm_leg.run_leg(self, start)
            return CallOutcome(f"warm_{outcome}", start.call_sid)
        graph = self.services.graph_for(start.custom_parameters.get("graph"))
        self.graph_name = graph.name
        logger.info(
            f"call started: graph={graph.name} "
            f"from={phone_hint(start.custom_parameters.get('from'))}"
        )
        resume = None
        if start.custom_parameters.get(transfer_call.RESUME_PARAMETER) == "transfer":
            status = start.custom_parameters.get(transfer_call.DIAL_STATUS_PARAMETER, "")
            resume = await transfer_call.load_resume(self.services.records, start.call_sid, status)
            logger.info(f"call back from a transfer ({status}): {len(resume.turns)} turns so far")
        try:
            built = build_call_pipeline(self, graph, start, resume)
        except SwitchboardError as exc:
            logger.error(f"cannot build graph {graph.name}: {exc}")
            await self.bridge.close(code=1011, message=b"graph build failed")
            return CallOutcome("error", start.call_sid, graph.name, detail=str(exc))
        self.worker, self.transport = built.worker, built.transport
        self.built = built
        watchers = self.services.watchers
        if watchers and built.live is not None:
            _watch(watchers, built, graph, start, resume)

        @self.transport.event_handler("on_caller_hung_up")
        async def _on_caller_hung_up(_transport, reason):
            # "stop" / "socket_closed": the caller left; anything else: the socket failed.
            outcome = "caller_hung_up" if reason in ("stop", "socket_closed") else "error"
            if self.hand_off is not None and self.hand_off.started:
                await self.hand_off.done.wait()  # Twilio's `stop` may beat the REST answer
                if self.hand_off.result == "ok":
                    outcome = None  # the transfer ended the stream: "transferred"
            if not self._ending_reason and outcome is not None:
                self._ending_reason = outcome
                self._ending_detail = CALLER_SIDE.get(reason, f"the media stream ended ({reason})")
            await self.worker.cancel(reason=f"caller hung up ({reason})")

        # The controller ends the call politely at max_duration_s; this is the backstop.
        limit = graph.call.max_duration_s + 30
        timer = asyncio.get_running_loop().call_later(
            limit, lambda: asyncio.ensure_future(self.end("timeout"))
        )
        try:
            await built.run()
        except Exception as exc:  # the call ends; the server goes on
            logger.exception(f"call pipeline failed: {exc.__class__.__name__}")
            self._ending_reason = "error"
            self._ending_detail = f"the call's pipeline failed ({exc.__class__.__name__})"
        finally:
            timer.cancel()
            await self.bridge.close()
            if self.warm is not None:
                self.warm.caller_gone()  # a warm transfer still undecided ends here
        outcome = CallOutcome(self._outcome(), start.call_sid, graph.name)
        outcome.detail = self._detail(outcome.outcome, graph)
        await built.finish(outcome.outcome, outcome.detail)  # call hooks (records); never raises
        if watchers:
            notify(watchers, lambda w: w.call_ended(start.call_sid, outcome.outcome))
        built.release()  # freed by reference counting now, not at the next full collection
        self.worker = self.transport = None
        return outcome

    def _outcome(self) -> str:
        if self._ending_reason:
            return self._ending_reason
        reason = self.built.controller.hang_up_reason
        hand_off = self.hand_off or (self.warm.hand_off if self.warm is not None else None)
        if reason == "transfer" and hand_off is not None:
            return "transferred" if hand_off.result == "ok" else "transfer_failed"
        return "timeout" if reason == "timeout" else "agent_hung_up"

    def _detail(self, outcome: str, graph) -> str:
        """The outcome's reason in words."""
        if self._ending_detail:
            return self._ending_detail
        if outcome == "drained":
            return "the server was shutting down"
        if outcome == "ended_by_operator":
            return "an operator ended the call from the dashboard"
        if outcome == "timeout" and self._ending_reason == "timeout":
            return "the call outlived its time limit and the agent's goodbye (the backstop)"
        request = self.built.controller.transfers.request
        if outcome in ("transferred", "transfer_failed") and request is not None:
            if outcome == "transferred":
                return f"transferred to {request.name} ({request.via})"
            hand_off = self.hand_off or (self.warm.hand_off if self.warm is not None else None)
            result = hand_off.result if hand_off is not None else "none"
            return f"the transfer to {request.name} could not start (Twilio: {result})"
        reason = self.built.controller.hang_up_reason
        return AGENT_SIDE.get(reason or "", f"the agent ended the call ({reason})")

    def transfer(self, destination: str, reason: str) -> bool:
        """Put the call through to one of its graph's transfer destinations (an operator's
        request), as the graph's own transfers do: the transfer phrase, then the <Dial>.
        False when the destination is not set, or the call is ending or not built yet."""
        controller = self.built.controller if self.built is not None else None
        if (
            controller is None
            or self._ending_reason
            or not controller.transfers.can_start(destination)
        ):
            return False
        frame = TransferCallFrame(destination=destination, reason=reason, via="operator")
        controller.create_task(controller.transfers.start(frame), name="operator-transfer")
        return True

    async def end(self, reason: str, goodbye: bool = False) -> None:
        """End the call from our side (max duration, drain): flush, hang up, close.

        With `goodbye` the call controller says the graph's goodbye first (from the audio
        cache when it is there), as for any hang-up by the agent.
        """
        if self._ending_reason or self.worker is None:
            return
        self._ending_reason = reason
        if goodbye and self.built is not None:
            # From the controller's own task, as its own time limit does.
            controller = self.built.controller
            controller.create_task(controller.hang_up(reason), name="drain-hang-up")
            return
        from pipecat.frames.frames import EndFrame

        await self.worker.queue_frame(EndFrame(reason=reason))

    async def cancel(self, reason: str) -> None:
        """Stop at once (drain deadline passed)."""
        if self.worker is None:
            await self.bridge.close()
            return
        self._ending_reason = self._ending_reason or reason
        await self.worker.cancel(reason=reason)
