"""pipecat's Cartesia TTS with a lost utterance reported, bursts joined, and read-ahead.

Everything here leans on pipecat internals (tests/adapters/test_cartesia.py pins each):

- `AudioContextManager` keeps an `asyncio.Queue` per context in `_contexts`, skips its
  `_KEEPALIVE` items in `get`, and carries a context's odd trailing bytes in `_remainders`.
  `join_waiting_audio` adds a chunk to the audio item still waiting at the end of its
  context's queue (`Queue._queue`), and `take_waiting_item` takes what is already queued
  without pipecat's `asyncio.wait_for` per item.
- `TTSService._next_audio_context_item(context_id)` is what the playback task awaits for each
  item; it is overridden to take waiting items first.
- `CartesiaTTSService._receive_messages()` returns when the socket goes down, and
  `WebsocketService._disconnecting` says whether that was asked for: an utterance in
  progress then will never finish, and the call controller is told (`TurnFailedFrame`).

agent/nodes/cartesia.py says why each exists; this module only says how.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import TTSAudioRawFrame, TTSStoppedFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.utils.context.audio_context_manager import AudioContextManager

from processors.frames import TurnFailedFrame
from processors.media_link import ReadAhead

REPORT_GAP_S = 5.0  # at most one failure report per this long
JOINED_MAX_MS = 200  # the longest audio frame joined chunks make
NOTHING_WAITING = object()


def take_waiting_item(manager: AudioContextManager, context_id: str):
    """The next item already waiting in an audio context's queue (None: the context's end
    marker), or NOTHING_WAITING when none is: then wait for it pipecat's way. Keep-alives are
    skipped, as pipecat's own `get` skips them."""
    queue = manager._contexts.get(context_id)
    if queue is None:
        return NOTHING_WAITING
    while not queue.empty():
        item = queue.get_nowait()
        if item is not manager._KEEPALIVE:
            return item
    return NOTHING_WAITING


def join_waiting_audio(
    manager: AudioContextManager, context_id: str | None, frame: TTSAudioRawFrame
) -> bool:
    """Add `frame`'s audio to the last item of its audio context's queue, if that is audio
    still waiting to be played out; False (nothing changed) otherwise."""
    queue = manager._contexts.get(context_id)
    waiting = queue._queue if queue is not None else None
    if not waiting or context_id in manager._remainders:
        return False
    last = waiting[-1]
    block = 2 * max(frame.num_channels, 1)  # one 16-bit sample on every channel
    if (
        type(last) is not type(frame)
        or (last.sample_rate, last.num_channels) != (frame.sample_rate, frame.num_channels)
        or len(last.audio) % block
        or len(frame.audio) % block
        or len(last.audio) + len(frame.audio) > frame.sample_rate * block * JOINED_MAX_MS // 1000
    ):
        return False
    last.audio += frame.audio
    last.num_frames = len(last.audio) // block
    return True


class ResilientCartesiaTTSService(CartesiaTTSService):
    """CartesiaTTSService that reports a lost utterance, joins bursts and reads at the pace
    of a bound read-ahead (the call's pacer)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._last_report = float("-inf")
        self._read_ahead: ReadAhead | None = None

    def read_at_pace_of(self, read_ahead: ReadAhead) -> None:
        """Read the socket only as fast as `read_ahead` lets (agent/nodes/cartesia.py)."""
        self._read_ahead = read_ahead

    async def append_to_audio_context(self, context_id, frame):
        if isinstance(frame, TTSAudioRawFrame):
            if self._read_ahead is not None:
                await self._read_ahead.wait_for_room()
                if not self.audio_context_available(context_id):
                    return  # cancelled while we waited: pipecat would drop it too
                self._read_ahead.reserve(len(frame.audio))
            if join_waiting_audio(self._audio_context_manager, context_id, frame):
                return
        await super().append_to_audio_context(context_id, frame)

    async def _next_audio_context_item(self, context_id):
        item = take_waiting_item(self._audio_context_manager, context_id)
        if item is NOTHING_WAITING:
            return await super()._next_audio_context_item(context_id)
        return item

    async def push_error(self, *args, **kwargs):
        await super().push_error(*args, **kwargs)
        await self._report_failure("provider_error")

    async def _receive_messages(self):
        try:
            await super()._receive_messages()
        finally:
            # The socket went down (pipecat reconnects after this): an utterance in
            # progress will never finish.
            if not self._disconnecting and self.has_active_audio_context():
                context_id = self.get_active_audio_context_id()
                await self.push_frame(TTSStoppedFrame(context_id=context_id))
                self.reset_active_audio_context()
                await self._report_failure("socket_dropped")

    async def _report_failure(self, reason: str) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_report < REPORT_GAP_S:
            return
        self._last_report = now
        await self.push_frame(TurnFailedFrame(stage="tts", reason=reason), FrameDirection.UPSTREAM)
