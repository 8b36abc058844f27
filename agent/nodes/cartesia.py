"""Builder of `cartesia_tts`: pipecat's Cartesia WebSocket TTS at CARTESIA_BASE_URL.

Raw pcm_s16le at the node's sample_rate (8000 by default, so the transport only has to
mu-law encode it). The voice defaults to CARTESIA_VOICE_ID.

When Cartesia fails an utterance (an `error` message, or the socket dropping while a context
is speaking), pipecat reports the error and the rest of that utterance is silence. Our
subclass also sends a `TurnFailedFrame(stage="tts")` upstream, so the call controller plays
the graph's cached `fallback` phrase (no TTS needed); pipecat's own reconnect then serves the
next utterance. At most one report per REPORT_GAP_S: one failure often yields two errors
(the error, then "context completed with no audio").

Bursts: Cartesia streams 20 ms chunks faster than real time, so a sentence's audio arrives
in a burst. pipecat hands every chunk on alone: into the context's queue, out through an
`asyncio.wait_for` (a task each), into the next processor's queue and task. A chunk whose
predecessor is still waiting in the queue joins it instead (`join_waiting_audio`, up to
JOINED_MAX_MS per frame): the same audio in the same order with a tenth of the hand-offs.
A chunk that finds the queue empty goes on alone as before, so nothing waits for this.

Queued items are taken at once (`take_waiting_item`): pipecat fetches each item of a
context's queue through `asyncio.wait_for`, a task and two loop iterations per item even when
it is already waiting. The words Cartesia times come as one item each, before the audio, so
under load an answer's first audio waited behind them: at 100 calls the first chunk took
0.55-0.7 s (p50) to leave this service. What is already queued now goes on in one pass;
only an empty queue is waited on pipecat's way.

Read-ahead (the node's "read_ahead.take" channel): the builder hands the pipeline assembly
`read_at_pace_of`, which it binds to the call's pacer (processors/media_link.py ReadAhead).
Before each audio chunk is handed on, the socket's reader waits while the pacer's read-ahead
is full (processors/pacer/read_ahead.py says why), then reserves the chunk's length there, so that the
audio still between this service and the pacer counts too. The reader also carries
Cartesia's other messages, which stay in order behind the audio. A chunk whose context was
cancelled (a barge-in) while it waited is dropped, as pipecat drops one that arrives after.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

from agent.graph.build import BuildContext, NodeBuild
from agent.nodes.params import CartesiaTTSParams

if TYPE_CHECKING:
    from processors.media_link import ReadAhead

REPORT_GAP_S = 5.0
JOINED_MAX_MS = 200
NOTHING_WAITING = object()


def take_waiting_item(manager, context_id: str):
    """The next item already waiting in an audio context's queue (None: the context's end
    marker), or NOTHING_WAITING when none is (or pipecat's internals changed): then wait for
    it pipecat's way. Keep-alives are skipped, as pipecat's own `get` skips them."""
    queue = getattr(manager, "_contexts", {}).get(context_id)
    keepalive = getattr(manager, "_KEEPALIVE", NOTHING_WAITING)
    if queue is None or not hasattr(queue, "get_nowait"):
        return NOTHING_WAITING
    while not queue.empty():
        item = queue.get_nowait()
        if item is not keepalive:
            return item
    return NOTHING_WAITING


def join_waiting_audio(manager, context_id: str | None, frame) -> bool:
    """Add `frame`'s audio (a TTSAudioRawFrame) to the last item of its audio context's
    queue, if that is audio still waiting to be played out; False (nothing changed) otherwise.

    Reads pipecat's AudioContextManager internals (its per-context asyncio queues and the
    partial samples it carries between chunks); if they change, this joins nothing and
    every chunk takes pipecat's own path."""
    queue = getattr(manager, "_contexts", {}).get(context_id)
    waiting = getattr(queue, "_queue", None)
    if not waiting or context_id in getattr(manager, "_remainders", (context_id,)):
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


def build_tts(params: CartesiaTTSParams, ctx: BuildContext, node_name: str) -> NodeBuild:
    from pipecat.services.cartesia.tts import CartesiaTTSService, GenerationConfig

    config = ctx.config
    api_key = config.require("CARTESIA_API_KEY", f"the cartesia_tts node '{node_name}'")
    settings = CartesiaTTSService.Settings(
        voice=params.voice or config.cartesia_voice_id,
        model=params.model,
        language=params.language,
        generation_config=GenerationConfig(speed=params.speed) if params.speed else None,
    )
    service = resilient_cartesia_class()(
        api_key=api_key.reveal(),
        url=f"{config.cartesia_base_url}/tts/websocket",
        sample_rate=params.sample_rate,
        encoding="pcm_s16le",
        container="raw",
        settings=settings,
    )
    return NodeBuild(processors=[service], take_read_ahead=service.read_at_pace_of)


@functools.cache
def resilient_cartesia_class() -> type:
    """CartesiaTTSService that tells the call controller when an utterance is lost."""
    from pipecat.frames.frames import TTSAudioRawFrame, TTSStoppedFrame
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.services.cartesia.tts import CartesiaTTSService

    from processors.frames import TurnFailedFrame

    class ResilientCartesiaTTSService(CartesiaTTSService):
        _last_report = float("-inf")
        _read_ahead: ReadAhead | None = None

        def read_at_pace_of(self, pacer: ReadAhead) -> None:
            """Read the socket only as fast as `pacer` plays the audio out (module doc)."""
            self._read_ahead = pacer

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
            await self.push_frame(
                TurnFailedFrame(stage="tts", reason=reason), FrameDirection.UPSTREAM
            )

    return ResilientCartesiaTTSService
