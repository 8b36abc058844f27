"""Sender: the pacer's task that hands queued chunks and marks to the media link on time.

It takes the queue in order: a mark goes to the link at once (after the audio before it),
a chunk once the play-out clock says it is due within the hand-over window
(processors/pacer/playout.py); the link writes it at its time. The agent "speaks"
(pipecat's BotStarted/BotSpeaking/BotStoppedSpeakingFrame, up and down) from the first
chunk handed over until Twilio has echoed every mark sent and nothing is queued.

When the queue runs dry with audio sent after the last mark (the TTS fell behind
mid-answer), the sender marks that audio (a `-t` mark), so its echo says when it played.
With marks outstanding and nothing to send, it waits for their echoes at most until the
audio should have played plus `mark_timeout_s`, then assumes they played (Twilio did not
echo them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import (
    BotSpeakingFrame,
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
)

from processors.clock import Clock
from processors.media_link import MediaLink
from processors.pacer.chunker import Chunker
from processors.pacer.ledger import MarkLedger
from processors.pacer.playout import PlayoutClock
from processors.pacer.read_ahead import ReadAheadRoom
from processors.pacer.stats import Chunk, Mark, PacerStats

# pipecat's own output transport sends a BotSpeakingFrame every 0.2 s; each is broadcast up
# and down through every processor of the call. Nothing in our pipelines reads them (they
# only keep pipecat's idle timers, which we do not use, from firing), so once a second is
# plenty and costs a fifth of the frame traffic.
BOT_SPEAKING_PERIOD_S = 1.0


class Sender:
    """Hands the chunker's queue to the link; keeps the agent's speaking state."""

    def __init__(
        self,
        *,
        chunker: Chunker,
        room: ReadAheadRoom,
        playout: PlayoutClock,
        ledger: MarkLedger,
        clock: Clock,
        stats: PacerStats,
        wake: asyncio.Event,
        idle: asyncio.Event,
        mark_timeout_s: float,
        broadcast: Callable[[type], Awaitable[None]],
        name: str,
    ):
        self._chunker = chunker
        self._room = room
        self._playout = playout
        self._ledger = ledger
        self._clock = clock
        self._now = clock.now
        self._sleep = clock.sleep
        self._stats = stats
        self._wake = wake
        self._idle = idle
        self._mark_timeout_s = mark_timeout_s
        self._broadcast = broadcast
        self._name = name
        self.link: MediaLink | None = None
        # Called with each chunk's send lateness in seconds (the server's histogram).
        self.on_lateness: Callable[[float], None] | None = None
        self.generation = 0  # bumped at each interruption: a chunk waiting is not wanted
        self.speaking = False
        self._last_speaking_frame = 0.0

    async def run(self) -> None:
        queue = self._chunker.queue
        while True:
            if not queue:
                # Dry: the room cannot stay closed on reservations alone.
                self._room.forget_reservations()
                unmarked = self._ledger.unmarked
                if unmarked is not None and not self._ledger.outstanding:
                    # The TTS is behind: no echo would tell when this audio has played.
                    self.send_mark(self._chunker.tail_mark(unmarked))
                await self._wait_when_empty()
                continue
            item = queue.popleft()
            if type(item) is tuple:
                self._room.sent(len(item[0]))
                await self._send_chunk(item)
            else:
                self.send_mark(item)

    def send_mark(self, mark: Mark) -> None:
        self._ledger.sent(mark)
        self.link.send_mark(mark.name)

    async def _send_chunk(self, chunk: Chunk) -> None:
        audio, _uid, _end, queued = chunk
        generation = self.generation
        now = self._now()
        send_at = self._playout.send_at(now, self.speaking and bool(self._ledger.outstanding))
        wait = self._playout.hand_over_in(send_at, now)
        if wait > 0:
            await self._sleep(wait)
            if generation != self.generation:
                return  # interrupted while waiting: this audio is no longer wanted
        await self.set_speaking(True)
        if generation != self.generation:
            return  # interrupted while announcing: the clear has gone out already
        # Due at its clock time, or when it arrived if the TTS was behind the clock.
        self.link.send_audio(audio, send_at, max(send_at, queued), self.on_lateness)
        self._stats.chunks_sent += 1
        self._ledger.unmarked = chunk  # its uid and end, without a tuple per chunk
        self._playout.advance()
        now = self._now()
        if now - self._last_speaking_frame >= BOT_SPEAKING_PERIOD_S:
            self._last_speaking_frame = now
            await self._broadcast(BotSpeakingFrame)

    async def set_speaking(self, speaking: bool) -> None:
        if speaking == self.speaking:
            return
        self.speaking = speaking
        if speaking:
            await self._broadcast(BotStartedSpeakingFrame)
            self._last_speaking_frame = self._now()
        else:
            await self._broadcast(BotStoppedSpeakingFrame)

    async def went_idle(self) -> None:
        """Twilio has played (or been told to drop) everything sent: the caller hears nothing."""
        self._idle.set()
        await self.set_speaking(False)
        if not self._chunker.open:
            # The speech run ends with its last utterance, not in a pause inside one (the TTS
            # behind mid-answer): a barge-in after that pause reports the whole answer's words.
            self._ledger.heard.reset()

    async def _wait_when_empty(self) -> None:
        """Nothing to send: wait for work, or give up on echoes Twilio never sends."""
        self._wake.clear()
        timeout = None
        if self._ledger.outstanding:
            timeout = self._playout.remaining(self._now()) + self._mark_timeout_s
        if await self._clock.wait(self._wake, timeout) or not self._ledger.outstanding:
            return
        count = self._ledger.assume_played()
        logger.warning(f"{self._name}: no echo for {count} mark(s); assuming played")
        await self.went_idle()
