"""Twilio serializer: pipecat's `TwilioFrameSerializer` with strict parsing and marks; the
Media Streams wire format only.

What it adds to pipecat's serializer:
- inbound messages go through `agent.twilio.protocol.parse_message` (strict, typed, reasons
  for every drop) instead of a lenient `json.loads`;
- a fast path for the common case, 8 kHz PCM in and out: one `audioop` call per 20 ms frame,
  no resampler objects touched;
- `OutputMarkFrame` becomes a Twilio `mark`; the marks still waiting for their echo are
  tracked so an echo caused by `clear` is reported as not played;
- on `EndFrame` it asks for the REST hang-up (agent/twilio/rest.py, through the `CallHangUp`
  seam) only when the agent ends the call (`hang_up_on_end`), not when the caller already
  hung up, and only once; the hang-up runs in the background (`hangup_task`), so the socket
  closes at once. Without credentials (`hang_up=None`) there is no hang-up.
"""

from __future__ import annotations

import asyncio
import audioop  # deprecated in 3.13; pipecat itself uses it (audioop-lts there)

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    AudioRawFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
)
from pipecat.serializers.twilio import TwilioFrameSerializer

from agent.twilio import protocol as tp
from agent.twilio.protocol import SAMPLE_RATE
from agent.twilio.rest import CallHangUp
from agent.twilio.rest_results import HangUpResult
from processors.frames import OutputMarkFrame, TwilioMarkFrame


class TwilioSerializer(TwilioFrameSerializer):
    """Serializer for one Twilio media stream (one call)."""

    def __init__(
        self,
        start: tp.Start,
        *,
        hang_up: CallHangUp | None = None,
    ):
        # pipecat's own REST hang-up stays off: ours (agent/twilio/rest.py) retries.
        super().__init__(
            stream_sid=start.stream_sid,
            call_sid=start.call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        self.start_event = start
        self.stream_sid = start.stream_sid
        self.hang_up_on_end = False
        self.hangup_task: asyncio.Task[HangUpResult] | None = None
        self._hang_up = hang_up
        self._pending_marks: dict[str, bool] = {}  # name -> still playable (False once cleared)

    # -- outbound -------------------------------------------------------------------------

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, AudioRawFrame) and frame.sample_rate == SAMPLE_RATE:
            if not frame.audio:
                return None
            return self.media_message(frame.audio)
        if isinstance(frame, OutputMarkFrame):
            return self.mark_message(frame.mark_name)
        if isinstance(frame, InterruptionFrame):
            # Twilio will echo every pending mark at once: none of that audio is heard.
            for name in self._pending_marks:
                self._pending_marks[name] = False
            return tp.clear_message(self.stream_sid)
        if isinstance(frame, (EndFrame, CancelFrame)):
            if self.hang_up_on_end and self._hang_up is not None and self.hangup_task is None:
                # In the background: the socket closes now (which ends a <Connect> call on
                # its own); retries through a Twilio outage must not hold it open.
                self.hangup_task = self._hang_up.hang_up_in_background()
            return None
        return await super().serialize(frame)

    def media_message(self, pcm: bytes) -> str:
        """A `media` message for 8 kHz PCM16 (the pacer's direct path: no frame object)."""
        return tp.media_message(self.stream_sid, audioop.lin2ulaw(pcm, 2))

    def mark_message(self, name: str) -> str:
        """A `mark` message; the mark waits for its echo (played unless a clear comes first)."""
        self._pending_marks[name] = True
        return tp.mark_message(self.stream_sid, name)

    # -- inbound --------------------------------------------------------------------------

    @staticmethod
    def audio_frame(ulaw: bytes) -> InputAudioRawFrame:
        """Caller audio (mu-law, any length: the transport joins messages) as a PCM frame."""
        pcm = audioop.ulaw2lin(ulaw, 2)
        return InputAudioRawFrame(audio=pcm, sample_rate=SAMPLE_RATE, num_channels=1)

    def frame_for(self, event: tp.TwilioEvent) -> Frame | None:
        """The pipecat frame for a parsed Twilio event (None for events with no frame)."""
        if isinstance(event, tp.Media):
            return self.audio_frame(event.payload)
        if isinstance(event, tp.Mark):
            played = self._pending_marks.pop(event.name, True)
            return TwilioMarkFrame(mark_name=event.name, played=played)
        if isinstance(event, tp.Dtmf):
            return InputDTMFFrame(KeypadEntry(event.digit))
        return None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """pipecat's entry point; raises TwilioProtocolError for messages to drop."""
        return self.frame_for(tp.parse_message(data, started=True))
