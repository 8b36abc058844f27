"""A pipecat transport for one Twilio media stream carried by an aiohttp WebSocket.

pipecat's own WebSocket transports are FastAPI- or websockets-server-only; this one subclasses
pipecat's `BaseInputTransport` / `BaseOutputTransport` over `agent.twilio.ws_bridge.WebSocketBridge`
(pipecat's private names it needs live in agent/adapters/transport.py).

Input: reads Twilio messages, parses them strictly (`agent.twilio.protocol`), drops and counts
bad ones (`on_dropped(reason)`), pushes caller audio (8 kHz PCM), DTMF and mark echoes as
frames. A `stop` message or a closed socket fires the transport's `on_caller_hung_up` event.
A caller-audio tap (`tap_caller_audio`: a call's recording) gets each `media` payload as
Twilio delivered it, with its timestamp.

Caller audio goes into the pipeline `audio_in_frame_ms` (60) at a time, not as Twilio's 20 ms
messages: every audio frame costs a queue hand-off in each processor it passes and a message
to Deepgram, so three messages per frame cut the biggest per-call cost to a third; Silero
(32 ms windows) and Deepgram (20-100 ms recommended) take any frame size. When the call's
audio has fallen behind (messages already waiting on the socket), the frame takes in what
is waiting, up to `audio_in_max_frame_ms` (500): each frame costs a VAD round trip to the
inference thread whatever its length, so 60 ms frames could only keep pace, never catch up.
Any other event (a mark echo, a digit, `stop`) first flushes the audio received before it,
so frames keep Twilio's order. docs/decisions/caller-audio-frames.md has the measurements.

Output: the transport is the call's media link (processors/media_link.py). The pacer, always
the chain's last processor, is bound to it by the pipeline assembly: its 20 ms chunks go to
the process's send clock (agent/twilio/send_clock.py) with the time each is due, its marks
behind them, and on a barge-in it drops what is scheduled and sends `clear`. Twilio's mark
echoes go straight back to the pacer (the subscriber), the only processor that reads them,
instead of as frames through every processor before it; with no subscriber they travel as
frames. When the pipeline ends the socket is closed (and, if the agent ended the call, the
serializer hangs it up over REST first).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
    StopFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from agent.adapters.events import declare_event, fire_event
from agent.errors import TwilioProtocolError
from agent.twilio import protocol as tp
from agent.twilio.protocol import SAMPLE_RATE
from agent.twilio.serializer import TwilioSerializer
from agent.twilio.ws_bridge import WebSocketBridge
from processors.frames import OutputMarkFrame, TwilioMarkFrame
from processors.media_link import MarkSubscriber


class CallerAudioTap(Protocol):
    """Gets each `media` payload as Twilio delivered it (a call's recording,
    agent/recording/link.py): called in the receive loop, so it must not block."""

    def caller_audio(self, ulaw: bytes, timestamp_ms: int) -> None: ...


class TwilioTransportParams(TransportParams):
    """Transport settings; audio is 8 kHz mono both ways, sent in 20 ms chunks."""

    audio_in_enabled: bool = True
    audio_out_enabled: bool = True
    audio_in_sample_rate: int | None = SAMPLE_RATE
    audio_out_sample_rate: int | None = SAMPLE_RATE
    audio_out_10ms_chunks: int = 2
    # Caller audio per input frame: a multiple of Twilio's 20 ms messages (see the module doc).
    audio_in_frame_ms: int = 60
    # ...and at most this much when catching up with audio already waiting (module doc).
    audio_in_max_frame_ms: int = 500
    # pipecat pads the end of a call with silence "so words don't cut out"; the pacer already
    # waits for the last mark's echo, so the padding would only delay the hang-up.
    audio_out_end_silence_secs: int = 0


class TwilioInputTransport(BaseInputTransport):
    """Caller → pipeline."""

    def __init__(self, transport: TwilioTransport, params: TwilioTransportParams, **kwargs):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._receive_task: asyncio.Task | None = None
        self._audio_paused = False  # pipecat's pause (StopFrame) until the next start

    async def start(self, frame: StartFrame):
        await super().start(frame)
        self._audio_paused = False
        if not self._receive_task:
            self._receive_task = self.create_task(self._receive_loop(), name="twilio-receive")
        await self.set_transport_ready(frame)

    async def _stop_receiving(self):
        if self._receive_task:
            await self.cancel_task(self._receive_task)
            self._receive_task = None

    async def stop(self, frame: EndFrame):
        # Keep reading: the pacer downstream is still waiting for Twilio's echoes of the last
        # marks (a goodbye playing to its end). The transport stops us once the socket closes.
        await super().stop(frame)

    async def cancel(self, frame: CancelFrame):
        await super().cancel(frame)
        await self._stop_receiving()

    async def pause(self, frame: StopFrame):
        await super().pause(frame)
        self._audio_paused = True

    async def push_audio_frame(self, frame: InputAudioRawFrame):
        # Straight downstream. pipecat queues audio for a task of its own that applies an
        # input filter and pushes it on; a Twilio call has no filter, so that task only cost
        # a queue hand-off, a wake-up and an asyncio.wait_for per frame.
        params = self._transport.params
        if params.audio_in_filter is not None:
            await super().push_audio_frame(frame)
        elif params.audio_in_enabled and not self._audio_paused:
            await self.push_frame(frame)

    async def _receive_loop(self):
        t = self._transport
        serializer = t.serializer
        reason = "socket_closed"
        # mu-law bytes per input frame (8000 bytes/s); audio is pushed once this much is in.
        batch_bytes = max(1, t.params.audio_in_frame_ms * 8)
        max_bytes = max(batch_bytes, t.params.audio_in_max_frame_ms * 8)
        pending = bytearray()
        while True:
            data = await t.bridge.receive()
            if data is None:
                if t.bridge.error_reason:
                    t.on_dropped(t.bridge.error_reason)
                    reason = t.bridge.error_reason
                break
            try:
                event = tp.parse_message(data, started=True)
            except TwilioProtocolError as exc:
                t.on_dropped(exc.reason)
                continue
            t.on_received(event)
            if isinstance(event, tp.Media):
                if t.caller_tap is not None:
                    try:
                        t.caller_tap.caller_audio(event.payload, event.timestamp_ms)
                    except Exception:  # a recording bug must not stop the caller's audio
                        logger.exception("caller audio tap failed; detached")
                        t.caller_tap = None
                pending += event.payload
                if len(pending) >= batch_bytes and (
                    len(pending) >= max_bytes or not t.bridge.has_pending()
                ):
                    await self.push_audio_frame(serializer.audio_frame(bytes(pending)))
                    pending.clear()
                continue
            if pending:  # audio first: what came before this event goes in before it
                await self.push_audio_frame(serializer.audio_frame(bytes(pending)))
                pending.clear()
            if isinstance(event, tp.Stop):
                reason = "stop"
                break
            frame = serializer.frame_for(event)
            if frame is None:
                # `connected`/`start` again: harmless duplicates, counted as dropped.
                t.on_dropped("unexpected_" + type(event).__name__.lower())
            elif isinstance(frame, InputAudioRawFrame):
                await self.push_audio_frame(frame)
            elif isinstance(frame, TwilioMarkFrame) and t.subscriber is not None:
                try:
                    await t.subscriber.take_echo(frame)
                except Exception:  # a pacer bug must not stop the caller's audio
                    logger.exception(f"mark echo {frame.mark_name!r} not handled")
            else:
                await self.push_frame(frame)
        if pending:
            await self.push_audio_frame(serializer.audio_frame(bytes(pending)))
        self._receive_task = None
        await t.caller_hung_up(reason)

    async def stop_receiving(self):
        await self._stop_receiving()


class TwilioOutputTransport(BaseOutputTransport):
    """Pipeline → caller: the call's end, and messages that come as frames (the pacer
    upstream writes audio, marks and `clear` through the media link)."""

    def __init__(self, transport: TwilioTransport, params: TwilioTransportParams, **kwargs):
        super().__init__(params, **kwargs)
        self._transport = transport

    async def setup(self, setup: FrameProcessorSetup):
        await super().setup(setup)
        await self._transport.serializer.setup(setup)

    async def start(self, frame: StartFrame):
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame):
        await super().stop(frame)
        await self._transport.finish(frame)

    async def cancel(self, frame: CancelFrame):
        await super().cancel(frame)
        await self._transport.finish(frame)

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ):
        await self._transport.send_frame(frame)

    async def write_transport_frame(self, frame: Frame):
        if isinstance(frame, OutputMarkFrame):
            await self._transport.send_frame(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        return await self._transport.send_frame(frame)


class TwilioTransport(BaseTransport):
    """Input and output processors for one call, sharing one socket and serializer; the
    call's media link (processors.media_link.MediaLink).

    Events: `on_caller_hung_up(transport, reason)` where reason is "stop" or "socket_closed".
    """

    def __init__(
        self,
        bridge: WebSocketBridge,
        serializer: TwilioSerializer,
        params: TwilioTransportParams | None = None,
        *,
        on_received: Callable[[tp.TwilioEvent], None] = lambda event: None,
        on_dropped: Callable[[str], None] = lambda reason: None,
    ):
        super().__init__()
        self.bridge = bridge
        self.serializer = serializer
        self.params = params or TwilioTransportParams()
        self.on_received = on_received
        self.on_dropped = on_dropped
        self.hung_up_by_caller: str | None = None
        # The pacer bound to this link (`subscribe`); None: echoes travel as frames.
        self.subscriber: MarkSubscriber | None = None
        # Who also gets the caller's audio as received (`tap_caller_audio`), if anyone.
        self.caller_tap: CallerAudioTap | None = None
        self._finishing = False
        self._input = TwilioInputTransport(self, self.params, name="twilio-in")
        self._output = TwilioOutputTransport(self, self.params, name="twilio-out")
        declare_event(self, "on_caller_hung_up")

    def input(self) -> TwilioInputTransport:
        return self._input

    def output(self) -> TwilioOutputTransport:
        return self._output

    async def send_frame(self, frame: Frame) -> bool:
        """Serialize and send; False if the socket is gone or the frame has no wire form."""
        if not self.bridge.is_open:
            return False
        try:
            payload = await self.serializer.serialize(frame)
        except Exception as exc:  # a serializer bug must not kill the call
            logger.error(f"cannot serialize {frame.name}: {exc.__class__.__name__}: {exc}")
            return False
        if payload is None:
            return True
        return self.bridge.send(payload if isinstance(payload, str) else payload.decode())

    # -- the media link (processors/media_link.py) ----------------------------------------

    def send_audio(
        self, pcm: bytes, at: float, due: float, on_lateness: Callable[[float], None] | None
    ) -> bool:
        """20 ms of 8 kHz PCM16 as one `media` message, written at `at` by the send clock."""
        message = self.serializer.media_message(pcm)
        return self.bridge.send_at(message, at, due=due, on_lateness=on_lateness)

    def send_mark(self, name: str) -> bool:
        """A `mark` after the audio before it (queued behind it on the send clock)."""
        return self.bridge.send(self.serializer.mark_message(name))

    def drop_scheduled(self) -> int:
        """Forget audio and marks queued on the send clock (a barge-in); how many chunks."""
        return self.bridge.drop_unsent()

    async def clear(self) -> bool:
        """`clear`: Twilio drops what it holds (the serializer counts its marks unplayed)."""
        return await self.send_frame(InterruptionFrame())

    def subscribe(self, subscriber: MarkSubscriber) -> None:
        self.subscriber = subscriber

    def tap_caller_audio(self, tap: CallerAudioTap) -> None:
        """Hand every `media` payload to `tap` too, as received (the call's recording)."""
        self.caller_tap = tap

    # -- the call's end -------------------------------------------------------------------

    async def caller_hung_up(self, reason: str):
        if self._finishing:
            return  # we closed the socket ourselves
        if self.hung_up_by_caller is None:
            self.hung_up_by_caller = reason
            if self.subscriber is not None:
                self.subscriber.media_ended()  # no echo will come
            await fire_event(self, "on_caller_hung_up", reason)

    async def finish(self, frame: EndFrame | CancelFrame):
        """The pipeline ended: hang up over REST if the agent ended the call, close the socket."""
        self._finishing = True
        if self.hung_up_by_caller is None:
            # The agent (or the server) ended the call: hang up over REST when we can.
            self.serializer.hang_up_on_end = True
            await self.send_frame(frame)
        await self.bridge.close()
        await self._input.stop_receiving()
