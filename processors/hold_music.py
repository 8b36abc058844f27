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
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    TTSStartedFrame,
)
from pipecat.processors.frame_processor import FrameDirection

from processors.clock import LOOP_CLOCK, Clock
from processors.passthrough import CONSUMED, PassThroughProcessor
from processors.speaking import SpeakingState

RATE = 8000
CHUNK_S = 0.1  # 1600 bytes: a whole number of the pacer's 20 ms chunks
LEAD_S = 0.3  # music pushed at most this far ahead of real time


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
        self._speech = SpeakingState()  # the hold phrase played? (processors/speaking.py)

    async def handle(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, InputAudioRawFrame):
            return CONSUMED if self.holding else None
        self._speech.on_frame(frame, direction)
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

    async def _play(self) -> None:
        await self._speech.played(self._clock)  # the hold phrase first, to its end
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
