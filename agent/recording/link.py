"""Where a recording hears the call: a media link that records what it passes on, and a tap
on the caller's audio as the transport receives it.

`RecordingLink` implements the pacer's `MediaLink` (processors/media_link.py) around the
call's real link (the transport): every call goes through unchanged, and the tape learns
what the agent's channel holds: each chunk written and when, chunks dropped before they
were written (a barge-in), the instant of a `clear` (Twilio drops its buffer: silence from
there). `CallerTap` is the transport's caller-audio tap (agent/twilio/transport.py
`CallerAudioTap`): each `media` payload with its Twilio timestamp. The pipeline assembly
(agent/app/pipeline.py) binds both when the graph records calls.

Per 20 ms chunk each costs a clock read and a bytes append (agent/recording/tape.py): no
await, no task, no allocation beyond the tape's buffer.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from agent.recording.tape import CallTape
from processors.clock import Clock
from processors.media_link import MarkSubscriber, MediaLink


class RecordingLink:
    """A MediaLink that records the agent's side as Twilio plays it. A fault in the
    recording stops the recording (logged), never the call's audio."""

    def __init__(self, inner: MediaLink, tape: CallTape, clock: Clock):
        self._inner = inner
        self._tape: CallTape | None = tape
        self._now = clock.now

    def send_audio(
        self, pcm: bytes, at: float, due: float, on_lateness: Callable[[float], None] | None
    ) -> bool:
        sent = self._inner.send_audio(pcm, at, due, on_lateness)
        if sent and self._tape is not None:  # not sent: the socket is gone, nothing plays
            try:
                self._tape.agent(pcm, at, self._now())
            except Exception:
                self._detach()
        return sent

    def send_mark(self, name: str) -> bool:
        return self._inner.send_mark(name)

    def drop_scheduled(self) -> int:
        dropped = self._inner.drop_scheduled()
        if self._tape is not None:
            try:
                self._tape.unschedule_agent(dropped, self._now())
            except Exception:
                self._detach()
        return dropped

    async def clear(self) -> bool:
        if self._tape is not None:
            try:
                self._tape.cut_agent(self._now())  # written now: Twilio drops what it holds
            except Exception:
                self._detach()
        return await self._inner.clear()

    def subscribe(self, subscriber: MarkSubscriber) -> None:
        self._inner.subscribe(subscriber)

    def _detach(self) -> None:
        logger.exception("recording the agent's audio failed; the call goes on unrecorded")
        self._tape = None


class CallerTap:
    """The caller's audio as Twilio delivered it, onto the tape."""

    def __init__(self, tape: CallTape, clock: Clock):
        self._tape = tape
        self._now = clock.now

    def caller_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
        self._tape.caller(ulaw, timestamp_ms, self._now())
