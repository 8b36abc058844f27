"""ReadAheadRoom: how much unsent audio the pacer holds, and whether a TTS may read on.

Cartesia sends an answer far faster than real time. Read as it came, every message would
be parsed and handed on at once, and when many calls' answers start together those bursts
saturate the event loop, delaying every other call's turn. So a TTS bound to the pacer
(agent/nodes/cartesia.py) reads its stream only while less than `read_ahead_ms` of unsent
audio is ahead of play-out, queued in the pacer or reserved by the TTS on its way here,
and resumes once that is READ_AHEAD_RESUME_S below. The provider's data waits in the
socket (TCP flow control), and a call holds about a second of answer audio, not all of it.

A reservation turns into queued audio when the audio arrives. What never arrives (an
utterance cut short) is forgotten at an interruption, at the utterance's end, whenever the
queue runs dry, and RESERVATION_EXPIRY_S after reservations alone closed the room over an
empty queue: the room never stays closed while nothing is queued to play out. Once the
pacer's sender has stopped, the room stays open: nothing would drain it.
"""

from __future__ import annotations

import asyncio

from processors.clock import Clock
from processors.pacer.stats import BYTES_PER_S, PacerStats

# Once full, the TTS resumes reading this far below the limit, so it wakes about five
# times a second per speaking call instead of once per chunk.
READ_AHEAD_RESUME_S = 0.2
# Reservations that closed the room over an empty queue are forgotten after this long.
RESERVATION_EXPIRY_S = 0.5


class ReadAheadRoom:
    """Queued and reserved audio, in bytes of 8 kHz PCM16; the room a bound TTS waits on."""

    def __init__(self, read_ahead_ms: int, clock: Clock, stats: PacerStats):
        self._limit = int(read_ahead_ms / 1000 * BYTES_PER_S) if read_ahead_ms else 0
        self._resume_below = max(0, self._limit - int(READ_AHEAD_RESUME_S * BYTES_PER_S))
        self._clock = clock
        self._stats = stats
        self.queued = 0  # audio in the pacer's queue
        self.reserved = 0  # audio a bound TTS has read and not yet handed on
        self.generation = 0  # bumped at each interruption: stale expiry timers do nothing
        self._room = asyncio.Event()  # set: a bound TTS may read on
        self._room.set()

    # -- the TTS's side (processors.media_link / agent/nodes/cartesia.py ReadAhead)

    async def wait_for_room(self) -> None:
        """Return once less unsent audio than the read-ahead is queued or reserved (at once
        when it is; always at once after the sender has stopped)."""
        if not self._room.is_set():
            self._stats.read_pauses += 1
            await self._room.wait()

    def reserve(self, nbytes: int) -> None:
        """A bound TTS has read `nbytes` of audio that is on its way to the pacer."""
        self.reserved += nbytes
        ahead = (self.queued + self.reserved) / BYTES_PER_S
        if ahead > self._stats.max_read_ahead_s:
            self._stats.max_read_ahead_s = ahead
        self._update()

    # -- the pacer's side

    def arrived(self, nbytes: int) -> None:
        """Audio reached the pacer: what was reserved for it is no longer on its way."""
        self.reserved = max(0, self.reserved - nbytes)

    def queue(self, nbytes: int) -> None:
        """A chunk joined the queue."""
        self.queued += nbytes
        held = self.queued / BYTES_PER_S
        if held > self._stats.max_queued_s:
            self._stats.max_queued_s = held
        self._update()

    def sent(self, nbytes: int) -> None:
        """A chunk left the queue."""
        self.queued -= nbytes
        self._update()

    def drop_queue(self) -> None:
        """An interruption emptied the queue; reservations are forgotten with it."""
        self.generation += 1
        self.queued = 0
        self.forget_reservations()

    def forget_reservations(self) -> None:
        self.reserved = 0
        self._update()

    def stop(self) -> None:
        """The sender has ended: nothing drains the queue any more, never hold a reader."""
        self._limit = 0
        self._room.set()

    def _update(self) -> None:
        """Close the room at the read-ahead, reopen it READ_AHEAD_RESUME_S below."""
        ahead = self.queued + self.reserved
        if self._limit and ahead >= self._limit:
            if self._room.is_set() and not self.queued:
                # Closed by reservations alone: forget them if their audio never comes.
                self._clock.call_later(RESERVATION_EXPIRY_S, self._expire, self.generation)
            self._room.clear()
        elif ahead <= self._resume_below or not self._limit:
            self._room.set()

    def _expire(self, generation: int) -> None:
        if generation == self.generation and not self.queued:
            self.forget_reservations()
