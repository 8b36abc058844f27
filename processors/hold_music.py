"""HoldMusic: the caller on hold during a warm transfer — music looped, the caller unheard.

Stands right behind the call controller (agent/app/pipeline.py binds the two: the
controller calls `start()` after the hold phrase and `stop()` when the transfer is
decided). While holding:

- the caller's audio stops here: the VAD, the STT and the LLM get none of it, so nothing
  the caller says interrupts the music or is answered; the call recording still has it
  (it is tapped at the transport, agent/recording/);
- once the hold phrase has played to its end (the pacer's `BotStoppedSpeakingFrame`, which
  follows Twilio's mark echoes), the music clip goes out in `CHUNK_S` pieces, looped without
  a gap, kept at most `LEAD_S` ahead of real time on the injected clock, so the pacer
  plays it at real time and Twilio's buffer never holds much of it;
- `stop()` ends the loop; if any music went out, an interruption clears what the pacer
  queued and Twilio buffered (`clear`), so the music stops within a frame or two and
  what the agent says next is heard at once. Stopped before the music began (a quick
  decline), the hold phrase plays on to its end and nothing is cleared.

- consumes: `InputAudioRawFrame` while holding
- watches: `BotStartedSpeakingFrame` / `BotStoppedSpeakingFrame` (upstream, from the pacer)
- produces: `TTSStartedFrame` then `OutputAudioRawFrame`s of music (8 kHz PCM16), and an
  `InterruptionFrame` (both ways) when stopped mid-music
- params: `music` (8 kHz PCM16; empty: silence on hold), `clock` (processors/clock.py)
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    TTSStartedFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from processors.clock import LOOP_CLOCK, Clock
from processors.passthrough import CONSUMED, PassThroughProcessor

RATE = 8000
CHUNK_S = 0.1  # 1600 bytes: a whole number of the pacer's 20 ms chunks
LEAD_S = 0.3  # music pushed at most this far ahead of real time
PHRASE_START_S = 3.0  # the hold phrase not playing by then: the music starts anyway
PHRASE_MAX_S = 15.0  # nor stopped by then


def music_chunks(music: bytes, start: int, count: int, chunk_bytes: int) -> tuple[list[bytes], int]:
    """`count` chunks of `chunk_bytes` from `music` looped from byte `start`; the next start."""
    chunks = []
    pos = start
    for _ in range(count):
        piece = bytearray()
        while len(piece) < chunk_bytes:
            take = music[pos : pos + chunk_bytes - len(piece)]
            piece += take
            pos = (pos + len(take)) % len(music)
        chunks.append(bytes(piece))
    return chunks, pos


class HoldMusic(PassThroughProcessor):
    """The caller's hold: see the module docstring."""

    DIRECT = True  # every caller audio frame passes here

    def __init__(self, music: bytes = b"", *, clock: Clock = LOOP_CLOCK, **kwargs):
        super().__init__(**kwargs)
        self._music = music[: len(music) & ~1] or bytes(int(RATE * CHUNK_S) * 2)
        self._clock = clock
        self.holding = False
        self.music_s = 0.0  # seconds of music pushed on this hold
        self._task: asyncio.Task | None = None
        self._bot_speaking = False
        self._speaking_changed = asyncio.Event()

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, InputAudioRawFrame):
            return CONSUMED if self.holding else None
        speaking = (BotStartedSpeakingFrame, BotStoppedSpeakingFrame)
        if isinstance(frame, speaking) and direction == FrameDirection.UPSTREAM:
            self._bot_speaking = isinstance(frame, BotStartedSpeakingFrame)
            self._speaking_changed.set()
        return None

    async def start(self) -> None:
        """Hold the caller: their audio stops here, the music starts after the hold phrase."""
        if self.holding:
            return
        self.holding = True
        self.music_s = 0.0
        self._task = self.create_task(self._play(), name="hold-music")

    async def stop(self) -> None:
        """End the hold: the music stops (cleared if it had begun), the caller is heard again."""
        if not self.holding:
            return
        self.holding = False
        if self._task is not None:
            await self.cancel_task(self._task)
            self._task = None
        if self.music_s > 0:
            await self.broadcast_interruption()  # the pacer drops the rest, Twilio clears
        logger.info(f"{self}: hold over after {self.music_s:.1f} s of music")

    async def cleanup(self):
        await super().cleanup()
        if self._task is not None:
            await self.cancel_task(self._task)
            self._task = None

    async def _wait_speaking(self, speaking: bool, timeout: float) -> bool:
        deadline = self._clock.now() + timeout
        while self._bot_speaking != speaking:
            left = deadline - self._clock.now()
            if left <= 0:
                return False
            self._speaking_changed.clear()
            await self._clock.wait(self._speaking_changed, left)
        return True

    async def _play(self) -> None:
        # The hold phrase first, to its end: wait for the agent to start and stop speaking.
        if self._bot_speaking or await self._wait_speaking(True, PHRASE_START_S):
            await self._wait_speaking(False, PHRASE_MAX_S)
        chunk_bytes = int(RATE * CHUNK_S) * 2
        await self.push_frame(TTSStartedFrame(append_to_context=False))
        began = self._clock.now()
        pos = 0
        while True:
            due = began + self.music_s  # when the next chunk starts playing
            ahead = due - self._clock.now()
            if ahead > LEAD_S:
                await self._clock.sleep(ahead - LEAD_S)
                continue
            [chunk], pos = music_chunks(self._music, pos, 1, chunk_bytes)
            self.music_s += CHUNK_S
            await self.push_frame(
                OutputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1)
            )
