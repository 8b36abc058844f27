"""Twilio serializer: pipecat's `TwilioFrameSerializer` with strict parsing, marks and a hang-up policy.

What it adds to pipecat's serializer:
- inbound messages go through `agent.twilio.protocol.parse_message` (strict, typed, reasons
  for every drop) instead of a lenient `json.loads`;
- a fast path for the common case, 8 kHz PCM in and out: one `audioop` call per 20 ms frame,
  no resampler objects touched;
- `OutputMarkFrame` becomes a Twilio `mark`; the marks still waiting for their echo are
  tracked so an echo caused by `clear` is reported as not played;
- the REST hang-up on `EndFrame` happens only when the agent ends the call (`hang_up_on_end`),
  not when the caller already hung up, and only with Twilio credentials; 20404 is success.
  A 5xx, a 429 or a network error is retried with backoff (HANGUP_BACKOFF_S: about 3.5 s in
  all), where pipecat tries once; a refused credential is not retried. It runs in the
  background (`hangup_task`), so the socket closes at once; `hangup_attempts` and
  `hangup_result` say what happened.
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
from processors.frames import OutputMarkFrame, TwilioMarkFrame

TWILIO_RATE = 8000
HANGUP_BACKOFF_S = (0.25, 0.75, 2.5)  # waits between the 4 attempts
_HANGUPS: set[asyncio.Task] = set()  # hang-ups still running after their call ended


class TwilioSerializer(TwilioFrameSerializer):
    """Serializer for one Twilio media stream (one call)."""

    def __init__(
        self,
        start: tp.Start,
        *,
        account_sid: str | None,
        auth_token: str | None,
        api_base_url: str,
    ):
        can_hang_up = bool(account_sid and auth_token)
        super().__init__(
            stream_sid=start.stream_sid,
            call_sid=start.call_sid,
            account_sid=account_sid,
            auth_token=auth_token,
            base_url=api_base_url,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=can_hang_up),
        )
        self.start_event = start
        self.hang_up_on_end = False
        self.hangup_attempts = 0
        self.hangup_task: asyncio.Task | None = None
        self.hangup_result: str | None = None  # ok, already_ended, refused_NNN, failed
        self._pending_marks: dict[str, bool] = {}  # name -> still playable (False once cleared)

    # -- outbound -------------------------------------------------------------------------

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, AudioRawFrame) and frame.sample_rate == TWILIO_RATE:
            if not frame.audio:
                return None
            return self.media_message(frame.audio)
        if isinstance(frame, OutputMarkFrame):
            return self.mark_message(frame.mark_name)
        if isinstance(frame, InterruptionFrame):
            # Twilio will echo every pending mark at once: none of that audio is heard.
            for name in self._pending_marks:
                self._pending_marks[name] = False
            return tp.clear_message(self._stream_sid)
        if isinstance(frame, (EndFrame, CancelFrame)):
            if self.hang_up_on_end and self._params.auto_hang_up and not self._hangup_attempted:
                self._hangup_attempted = True
                # In the background: the socket closes now (which ends a <Connect> call on
                # its own); retries through a Twilio outage must not hold it open.
                self.hangup_task = asyncio.create_task(self._hang_up_call())
                _HANGUPS.add(self.hangup_task)
                self.hangup_task.add_done_callback(_HANGUPS.discard)
            return None
        return await super().serialize(frame)

    def media_message(self, pcm: bytes) -> str:
        """A `media` message for 8 kHz PCM16 (the pacer's direct path: no frame object)."""
        return tp.media_message(self._stream_sid, audioop.lin2ulaw(pcm, 2))

    def mark_message(self, name: str) -> str:
        """A `mark` message; the mark waits for its echo (played unless a clear comes first)."""
        self._pending_marks[name] = True
        return tp.mark_message(self._stream_sid, name)

    # -- inbound --------------------------------------------------------------------------

    @staticmethod
    def audio_frame(ulaw: bytes) -> InputAudioRawFrame:
        """Caller audio (mu-law, any length: the transport joins messages) as a PCM frame."""
        pcm = audioop.ulaw2lin(ulaw, 2)
        return InputAudioRawFrame(audio=pcm, sample_rate=TWILIO_RATE, num_channels=1)

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

    async def _hang_up_call(self):
        """POST Status=completed to the call, retried with backoff (see the module docstring)."""
        import aiohttp
        from loguru import logger
        from pipecat.serializers.twilio import _build_call_resource_url

        endpoint = _build_call_resource_url(
            self._account_sid, self._call_sid, base_url=self._base_url, region=self._region,
            edge=self._edge,
        )  # fmt: skip
        auth = aiohttp.BasicAuth(self._account_sid, self._auth_token or "")
        timeout = aiohttp.ClientTimeout(total=5)
        for attempt in range(len(HANGUP_BACKOFF_S) + 1):
            self.hangup_attempts = attempt + 1
            why = ""
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(endpoint, auth=auth, data={"Status": "completed"}) as resp,
                ):
                    body = await resp.json(content_type=None) if resp.status != 200 else {}
                    if resp.status == 200 or (resp.status == 404 and _code(body) == 20404):
                        self.hangup_result = "ok" if resp.status == 200 else "already_ended"
                        return
                    why = f"HTTP {resp.status} (code {_code(body)})"
                    if resp.status < 500 and resp.status != 429:
                        self.hangup_result = f"refused_{resp.status}"
                        logger.error(f"hang-up of ...{self._call_sid[-8:]} refused: {why}")
                        return
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}"
            if attempt < len(HANGUP_BACKOFF_S):
                logger.warning(f"hang-up of ...{self._call_sid[-8:]} failed ({why}); retrying")
                await asyncio.sleep(HANGUP_BACKOFF_S[attempt])
        self.hangup_result = "failed"
        logger.error(f"hang-up of ...{self._call_sid[-8:]} failed {self.hangup_attempts} times")


def _code(body) -> int | None:
    return body.get("code") if isinstance(body, dict) else None


async def wait_for_hangups(timeout: float) -> int:
    """Let REST hang-ups still retrying finish (server shutdown); how many were left."""
    pending = list(_HANGUPS)
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    return sum(not t.done() for t in pending)
