"""Speak texts with a graph's TTS node outside any call: text in, PCM16 and its rate out.

The node is built with its own builder (so the real pipecat service, at its configured base
URL) into a small pipeline: [error watch, TTS service, collector]. Used by
`python -m agent audio build` (agent/phrases/build.py), which imports this module only when a
phrase has to be rendered: the rest of the build needs no pipecat.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from agent.adapters import engine
from agent.errors import SwitchboardError
from agent.graph import BuildContext, CallInfo

RENDER_TIMEOUT_S = 30.0


class _Collector(FrameProcessor):
    """Keeps the audio of the current utterance; `done` at its TTSStoppedFrame."""

    def __init__(self):
        super().__init__(name="audio-build-sink")
        self.started, self.done = asyncio.Event(), asyncio.Event()
        self.reset()

    def reset(self) -> None:
        self.audio, self.rate, self.error = bytearray(), 8000, None
        self.done.clear()

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started.set()
        elif isinstance(frame, TTSAudioRawFrame):
            self.audio += frame.audio
            self.rate = frame.sample_rate
        elif isinstance(frame, TTSStoppedFrame) and self.audio:
            self.done.set()
        await self.push_frame(frame, direction)


class _ErrorWatch(FrameProcessor):
    """Sees the TTS service's errors (they travel upstream) and ends the wait."""

    def __init__(self, sink: _Collector):
        super().__init__(name="audio-build-errors")
        self._sink = sink

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame) and direction == FrameDirection.UPSTREAM:
            self._sink.error = frame.error
            self._sink.done.set()
        await self.push_frame(frame, direction)


class TTSRenderer:
    """The graph's TTS node in a pipeline of its own. `start`, `render` texts, `stop`."""

    def __init__(self, graph, config):
        self._graph, self._config = graph, config
        self._sink = _Collector()
        self._worker = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        node = next(
            n
            for n in self._graph.chain_nodes()
            if "llm.text" in n.type.consumes and "audio.out" in n.type.produces
        )
        ctx = BuildContext(self._config, self._graph, CallInfo("CAaudiobuild", "MZaudiobuild"))
        built = node.type.load_builder()(node.params, ctx, node.name)
        processors = [_ErrorWatch(self._sink), *built.processors, self._sink]
        self._worker = engine.make_worker(processors, name="audio-build")
        self._task = asyncio.create_task(engine.run_worker(self._worker))
        await asyncio.wait_for(self._sink.started.wait(), 10)

    async def render(self, text: str) -> tuple[bytes, int]:
        """PCM16 of `text` spoken by the node, and its sample rate."""
        self._sink.reset()
        await self._worker.queue_frame(TTSSpeakFrame(text, append_to_context=False))
        try:
            await asyncio.wait_for(self._sink.done.wait(), RENDER_TIMEOUT_S)
        except TimeoutError:
            raise SwitchboardError(
                f"the TTS gave no complete audio in {RENDER_TIMEOUT_S:.0f} s"
            ) from None
        if self._sink.error:
            raise SwitchboardError(f"the TTS failed: {self._sink.error}")
        return bytes(self._sink.audio), self._sink.rate

    async def stop(self) -> None:
        if self._task is None or self._worker is None:
            return
        await self._worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 10)
        except TimeoutError:
            await self._worker.cancel()
            await self._task
        self._task = None
