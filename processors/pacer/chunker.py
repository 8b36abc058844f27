"""Chunker: the agent's audio cut into exact 20 ms chunks, with Twilio marks placed in it.

Audio of any frame size comes in, one utterance at a time (TTSStarted..TTSStopped, or
audio with no bounds, e.g. a cached phrase); the queue gets 320-byte chunks and marks:
one every `mark_interval` bytes of audio, one where a new sentence starts (if that audio
is still queued), and a final one at the utterance's end. Silence is padded only there.
Words go to the heard-text ledger at their byte offset in the utterance: from the TTS's
word timestamps when it gives them, else where they arrived.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from processors.heard_text import HeardText
from processors.pacer.read_ahead import ReadAheadRoom
from processors.pacer.stats import BYTES_PER_S, CHUNK_BYTES, Chunk, Mark

SENTENCE_ENDS = (".", "!", "?")


class Chunker:
    """The utterance being received, and the queue of what is cut and not yet sent."""

    def __init__(
        self,
        *,
        mark_every: int,
        heard: HeardText,
        room: ReadAheadRoom,
        now: Callable[[], float],
        pipeline_ns: Callable[[], int],
        wake: asyncio.Event,
        idle: asyncio.Event,
    ):
        self._mark_every = mark_every
        self._heard = heard
        self._room = room
        self._now = now  # the pacer's clock
        self._pipeline_ns = pipeline_ns  # pipecat's clock, which word timestamps use
        self._wake = wake  # set: the sender has something to send
        self._idle = idle  # cleared: something is queued or unplayed
        self.queue: deque[Chunk | Mark] = deque()
        self.uid = 0
        self.open = False
        self._pos = 0  # PCM bytes queued for the current utterance
        self._pending = bytearray()
        self._last_mark_pos = 0
        self._base_ns: int | None = None
        self._sentence_mark_due = False
        self._mark_seq = 0

    def begin(self) -> None:
        if self.open:
            self.end()
        self.uid += 1
        self.open = True
        self._pos = 0
        self._last_mark_pos = 0
        self._base_ns = None
        self._sentence_mark_due = False
        self._heard.start(self.uid)

    def end(self) -> None:
        self._room.forget_reservations()  # what never arrived will not
        if not self.open:
            return
        if self._pending:  # pad silence only here, at the utterance's end
            self._pending.extend(bytes(CHUNK_BYTES - len(self._pending)))
            self._enqueue(bytes(self._pending))
            self._pending.clear()
        self._queue_mark(final=True)
        self.open = False

    def drop(self) -> None:
        """An interruption: nothing queued or half-cut is wanted any more."""
        self.queue.clear()
        self._pending.clear()
        self.open = False

    def take_audio(self, audio: bytes, words: tuple = ()) -> None:
        """8 kHz mono PCM16; `words`: (byte offset in `audio`, text) of a cached phrase."""
        if not self.open:
            self.begin()  # audio with no TTS bounds (e.g. cached phrases)
        if self._base_ns is None:
            self._base_ns = self._pipeline_ns()
        self._room.arrived(len(audio))
        if words:
            start = self._pos + len(self._pending)
            for offset, text in words:
                self._heard.add_word(self.uid, start + offset, text)
        pending = self._pending
        pending.extend(audio)
        while len(pending) >= CHUNK_BYTES:
            self._enqueue(bytes(pending[:CHUNK_BYTES]))
            del pending[:CHUNK_BYTES]
            if self._pos - self._last_mark_pos >= self._mark_every:
                self._queue_mark()

    def take_word(self, text: str, pts: int) -> None:
        """A word of the TTS; `pts`: its timestamp on pipecat's clock (0: none)."""
        if not self.open:
            return
        if pts and self._base_ns is None:
            # pipecat releases the words it cached at the utterance's first audio chunk, just
            # before pushing that chunk: the word clock's baseline is "now".
            self._base_ns = self._pipeline_ns()
        if pts and self._base_ns is not None:
            offset = int((pts - self._base_ns) * BYTES_PER_S / 1_000_000_000) & ~1
        else:
            offset = self._pos + len(self._pending)
        if self._sentence_mark_due:
            self._insert_sentence_mark(offset)
        self._heard.add_word(self.uid, offset, text)
        self._sentence_mark_due = text.rstrip().endswith(SENTENCE_ENDS)

    def tail_mark(self, chunk: Chunk) -> Mark:
        """A mark after `chunk`, sent when the queue ran dry with no mark after it."""
        self._mark_seq += 1
        return Mark(f"u{chunk[1]}-t{self._mark_seq}", chunk[1], chunk[2])

    def queued_chunks(self) -> int:
        return sum(1 for item in self.queue if type(item) is tuple)

    def _enqueue(self, audio: bytes) -> None:
        self._pos += len(audio)
        self.queue.append((audio, self.uid, self._pos, self._now()))
        self._room.queue(len(audio))
        self._heard.add_audio(self.uid, len(audio))
        self._idle.clear()
        self._wake.set()

    def _queue_mark(self, *, final: bool = False) -> None:
        if not final and self._pos == self._last_mark_pos:
            return
        self._mark_seq += 1
        name = f"u{self.uid}-{'end' if final else self._mark_seq}"
        self.queue.append(Mark(name, self.uid, self._pos, final))
        self._last_mark_pos = self._pos
        self._idle.clear()
        self._wake.set()

    def _insert_sentence_mark(self, offset: int) -> None:
        """A mark where the next sentence starts, if that audio has not been sent yet."""
        self._sentence_mark_due = False
        if offset <= 0 or offset >= self._pos:
            return  # not queued yet: the interval marks will cover it
        for index, item in enumerate(self.queue):
            if type(item) is not tuple:
                continue  # a mark
            _audio, uid, end, _queued = item
            if uid == self.uid and end >= offset:
                self._mark_seq += 1
                mark = Mark(f"u{self.uid}-s{self._mark_seq}", self.uid, end)
                self.queue.insert(index + 1, mark)
                return
